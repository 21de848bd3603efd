//! A real browser for the tests: Debian's Chromium, headless and offline,
//! taking screenshots; and a PNG reader (over flate2) to look at their
//! pixels, so a test can tell a drawn chart or glyph from an empty one.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Chromium from Debian (`chromium`), headless.
pub fn chromium() -> PathBuf {
    for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(c).exists() {
            return PathBuf::from(c);
        }
    }
    panic!("this test drives a real browser: apt-get install chromium (.ci/run does)");
}

/// The switches that keep Chromium headless and off the network: its own
/// background traffic (updates, time, sync) off, and no name resolves.
/// `--run-all-compositor-stages-before-draw` makes a screenshot wait for a
/// whole frame: without it, headless Chromium now and then captures one
/// before every compositor stage has run (half a page drawn).
pub const OFFLINE: [&str; 20] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--hide-scrollbars",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,AutofillServerCommunication",
    "--no-pings",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--enable-logging=stderr",
    "--v=0",
    "--force-device-scale-factor=1",
    "--run-all-compositor-stages-before-draw",
];

/// Runs Chromium with `args`; its output, after checking that it succeeded.
pub fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::new(chromium())
        .args(args)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Opens `page` (a local file) in a `width` x `height` window and writes
/// its screenshot to `png`; `extra` adds switches. Returns Chromium's
/// output after checking that it succeeded.
pub fn screenshot(
    page: &Path,
    png: &Path,
    (width, height): (u32, u32),
    extra: &[String],
) -> Output {
    let profile = png.with_extension("profile");
    let mut args: Vec<String> = OFFLINE.iter().map(|s| s.to_string()).collect();
    args.push(format!("--window-size={width},{height}"));
    args.push(format!("--user-data-dir={}", profile.display()));
    args.extend(extra.iter().cloned());
    // The capture waits for the page's timers and fonts.
    args.push("--virtual-time-budget=2000".to_string());
    args.push(format!("--screenshot={}", png.display()));
    args.push(format!("file://{}", page.display()));
    run(args)
}

/// An 8-bit RGB image.
pub struct Image {
    pub width: usize,
    pub height: usize,
    /// Row by row.
    pub pixels: Vec<[u8; 3]>,
}

impl Image {
    pub fn at(&self, x: usize, y: usize) -> [u8; 3] {
        self.pixels[y * self.width + x]
    }

    /// The pixels of a rectangle, row by row.
    pub fn crop(&self, x0: usize, y0: usize, w: usize, h: usize) -> Vec<[u8; 3]> {
        (y0..y0 + h)
            .flat_map(|y| (x0..x0 + w).map(move |x| (x, y)))
            .map(|(x, y)| self.at(x, y))
            .collect()
    }

    /// Every (x, y) whose colour is within `tolerance` of `rgb` on each
    /// channel.
    pub fn find(&self, rgb: [u8; 3], tolerance: u8) -> Vec<(usize, usize)> {
        (0..self.height)
            .flat_map(|y| (0..self.width).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let p = self.at(x, y);
                (0..3).all(|c| p[c].abs_diff(rgb[c]) <= tolerance)
            })
            .collect()
    }
}

fn be32(b: &[u8]) -> usize {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
}

/// Reads a PNG as Chromium writes screenshots: 8 bits per channel, RGB or
/// RGBA (alpha dropped), not interlaced.
pub fn read_png(bytes: &[u8]) -> Image {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let (mut at, mut idat) = (8, Vec::new());
    let (mut width, mut height, mut channels) = (0, 0, 0);
    while at + 8 <= bytes.len() {
        let len = be32(&bytes[at..]);
        let kind = &bytes[at + 4..at + 8];
        let data = &bytes[at + 8..at + 8 + len];
        match kind {
            b"IHDR" => {
                (width, height) = (be32(data), be32(&data[4..]));
                assert_eq!(data[8], 8, "8-bit channels");
                assert_eq!(data[12], 0, "not interlaced");
                channels = match data[9] {
                    2 => 3,
                    6 => 4,
                    other => panic!("PNG colour type {other}"),
                };
            }
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        at += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .expect("PNG data inflates");
    let stride = width * channels;
    assert_eq!(raw.len(), height * (stride + 1), "PNG data size");
    let mut out: Vec<u8> = vec![0; height * stride];
    for y in 0..height {
        let filter = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for i in 0..stride {
            let a = if i >= channels {
                out[y * stride + i - channels]
            } else {
                0
            };
            let b = if y > 0 { out[(y - 1) * stride + i] } else { 0 };
            let c = if y > 0 && i >= channels {
                out[(y - 1) * stride + i - channels]
            } else {
                0
            };
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => paeth(a, b, c),
                other => panic!("PNG filter {other}"),
            };
            out[y * stride + i] = line[i].wrapping_add(predicted);
        }
    }
    Image {
        width,
        height,
        pixels: out.chunks(channels).map(|p| [p[0], p[1], p[2]]).collect(),
    }
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// The text of an HTML page a reader sees outside its charts: no style,
/// no SVG, no tags, entities decoded.
pub fn text_outside_charts(html: &str) -> String {
    let mut rest = html.to_string();
    for (open, close) in [("<style>", "</style>"), ("<svg", "</svg>")] {
        while let Some(a) = rest.find(open) {
            let b = rest[a..].find(close).expect("closed") + a + close.len();
            rest.replace_range(a..b, " ");
        }
    }
    let mut text = String::new();
    let mut in_tag = false;
    for c in rest.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}
