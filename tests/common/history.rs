//! A generated history of one API: two days from 2026-03-01T00:00:00Z at
//! one request a second, with a short page (20 minutes at 10% errors on
//! `/pay`) and a long slow burn (24 hours at 0.4% on `/search`), for the
//! report tests; with its configuration.

pub const BASE_S: i64 = 1_772_323_200; // 2026-03-01T00:00:00Z
pub const HOURS: i64 = 48;
pub const PAGE_FROM_S: i64 = 2 * 3600;
pub const PAGE_TO_S: i64 = PAGE_FROM_S + 20 * 60;
pub const BURN_FROM_S: i64 = 12 * 3600;
pub const BURN_TO_S: i64 = BURN_FROM_S + 24 * 3600;

/// One request a second. Every 10th fails on `/pay` during the page, every
/// 250th on `/search` during the slow burn, every 5000th on `/home`
/// throughout (not the first: one failure among the first requests would
/// burn fast enough to page).
pub fn history() -> String {
    let mut out = String::with_capacity(HOURS as usize * 3600 * 48);
    for s in 0..HOURS * 3600 {
        let (route, code) = if (PAGE_FROM_S..PAGE_TO_S).contains(&s) && s % 10 == 0 {
            ("/pay", 503)
        } else if (BURN_FROM_S..BURN_TO_S).contains(&s) && s % 250 == 0 {
            ("/search", 503)
        } else if s % 5000 == 2500 {
            ("/home", 503)
        } else {
            (["/home", "/pay", "/search"][(s % 3) as usize], 200)
        };
        out.push_str(&format!(
            "{{\"ts\":{},\"route\":\"{route}\",\"code\":{code}}}\n",
            BASE_S + s
        ));
    }
    out
}

/// A configuration of the API with `target` over `window` (and `extra`
/// lines of the objective, like a `timezone`), `breakdown = ["route"]`.
pub fn config(target: &str, window: &str, extra: &str) -> String {
    format!(
        "[decode.fields]\ntimestamp = \"ts\"\nstatus = \"code\"\n\n[[sli]]\nname = \"api\"\ngood = 'code < 500'\nbreakdown = [\"route\"]\n[sli.objective]\ntarget = {target}\nwindow = \"{window}\"\n{extra}"
    )
}
