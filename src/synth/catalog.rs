//! The synthetic world: services, their routes with latency and size
//! profiles, regions and user agents, with their traffic shares.
//!
//! Every string here is written into JSON as-is, so none may hold a `"` or a
//! `\` (a test checks).

/// One HTTP route of a service.
#[derive(Debug)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// Share of the service's traffic, in percent.
    pub share: u32,
    /// Median latency of a successful request, in milliseconds.
    pub median_ms: f64,
    /// Sigma of the latency's lognormal distribution.
    pub sigma: f64,
    /// Typical response size in bytes (0 for empty responses).
    pub bytes: u32,
    /// Status of a successful request.
    pub ok_status: u16,
}

/// One service, reached at `host`.
#[derive(Debug)]
pub struct Service {
    pub name: &'static str,
    pub host: &'static str,
    /// Share of all traffic, in per mille.
    pub share: u32,
    pub routes: &'static [Route],
    /// Baseline probability of a 5xx, in parts per million.
    pub err_5xx_ppm: u32,
    /// Baseline probability of a 4xx, in parts per million.
    pub err_4xx_ppm: u32,
    /// Relative weights of 400, 404 and 429 among the 4xx.
    pub mix_4xx: [u32; 3],
}

const fn route(
    method: &'static str,
    path: &'static str,
    share: u32,
    median_ms: f64,
    sigma: f64,
    bytes: u32,
    ok_status: u16,
) -> Route {
    Route {
        method,
        path,
        share,
        median_ms,
        sigma,
        bytes,
        ok_status,
    }
}

pub static SERVICES: &[Service] = &[
    Service {
        name: "search",
        host: "search.internal",
        share: 350,
        routes: &[
            route("GET", "/api/search", 70, 85.0, 0.6, 12_000, 200),
            route("GET", "/api/search/suggest", 30, 18.0, 0.5, 900, 200),
        ],
        err_5xx_ppm: 1_500,
        err_4xx_ppm: 8_000,
        mix_4xx: [60, 10, 30],
    },
    Service {
        name: "catalog",
        host: "catalog.internal",
        share: 300,
        routes: &[
            route("GET", "/api/catalog/products", 50, 45.0, 0.55, 24_000, 200),
            route(
                "GET",
                "/api/catalog/products/item",
                40,
                25.0,
                0.5,
                6_000,
                200,
            ),
            route("PUT", "/api/catalog/products/item", 10, 70.0, 0.7, 0, 204),
        ],
        err_5xx_ppm: 600,
        err_4xx_ppm: 15_000,
        mix_4xx: [15, 80, 5],
    },
    Service {
        name: "auth",
        host: "auth.internal",
        share: 200,
        routes: &[
            route("POST", "/api/auth/token", 60, 22.0, 0.5, 1_100, 200),
            route("POST", "/api/auth/login", 25, 95.0, 0.6, 700, 200),
            route("DELETE", "/api/auth/session", 15, 12.0, 0.5, 0, 204),
        ],
        err_5xx_ppm: 800,
        err_4xx_ppm: 12_000,
        mix_4xx: [40, 10, 50],
    },
    Service {
        name: "checkout",
        host: "checkout.internal",
        share: 150,
        routes: &[
            route("GET", "/api/checkout/cart", 45, 35.0, 0.5, 3_000, 200),
            route("POST", "/api/checkout", 40, 120.0, 0.7, 1_500, 201),
            route("POST", "/api/checkout/payment", 15, 110.0, 0.8, 800, 200),
        ],
        // Well inside the demo's 99.9% objective: a quiet day spends about
        // a third of the budget, so incidents stand out.
        err_5xx_ppm: 300,
        err_4xx_ppm: 10_000,
        mix_4xx: [60, 20, 20],
    },
];

/// Regions with their traffic weights.
pub static REGIONS: &[(&str, u32)] = &[
    ("us-east-1", 40),
    ("eu-west-1", 30),
    ("ap-northeast-1", 20),
    ("us-west-2", 10),
];

/// User agents with their traffic weights.
pub static USER_AGENTS: &[(&str, u32)] = &[
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        25,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        10,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        10,
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", 5),
    ("ShopApp/4.12.0 (Android 14; Pixel 8) okhttp/4.12.0", 25),
    ("ShopApp/4.12.0 (iOS 18.1; iPhone15,2) CFNetwork/1568.200.51", 15),
    ("Go-http-client/2.0", 7),
    ("curl/8.5.0", 3),
];

/// Weights among 500, 502 and 503 for every 5xx.
pub const MIX_5XX: [u32; 3] = [40, 20, 40];

/// The service named `name`, by index.
pub fn service_index(name: &str) -> Option<usize> {
    SERVICES.iter().position(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_and_strings_need_no_escaping() {
        assert_eq!(SERVICES.iter().map(|s| s.share).sum::<u32>(), 1000);
        for s in SERVICES {
            assert_eq!(
                s.routes.iter().map(|r| r.share).sum::<u32>(),
                100,
                "{}",
                s.name
            );
        }
        let mut strings: Vec<&str> = REGIONS.iter().chain(USER_AGENTS).map(|p| p.0).collect();
        for s in SERVICES {
            strings.extend([s.name, s.host]);
            strings.extend(s.routes.iter().flat_map(|r| [r.method, r.path]));
        }
        for s in strings {
            assert!(!s.contains(['"', '\\']) && s.is_ascii(), "{s}");
        }
    }
}
