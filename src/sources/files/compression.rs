//! Compressed inputs, known by their magic bytes rather than their names:
//! gzip (members concatenated as `cat a.gz b.gz` makes them) and zstd.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

use super::input::Input;

/// A compressed input, known by its magic bytes.
pub(crate) enum Compression {
    Gzip,
    Zstd,
}

impl Compression {
    /// The compression of an input that starts with `magic`.
    pub(crate) fn of(magic: &[u8]) -> Option<Compression> {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }
}

/// One input as a stream of decompressed bytes (gzip and zstd found by
/// their magic bytes, as the backfill reader finds them), for commands that
/// read only the first lines of an input.
pub fn open_decompressed(input: &Input) -> io::Result<Box<dyn BufRead>> {
    let raw: Box<dyn Read> = match input {
        Input::Stdin => Box::new(io::stdin().lock()),
        Input::File(p) => Box::new(File::open(p)?),
        Input::Object(o) => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{o} is an object: copy it to a local file first"),
            ))
        }
    };
    let (reader, _) = decompressed(BufReader::with_capacity(64 * 1024, raw))?;
    Ok(Box::new(BufReader::new(reader)))
}

/// `buffered` decompressed by what its first bytes say, with the name of
/// the compression (`gzip`, `zstd` or `plain`).
pub(crate) fn decompressed<R: BufRead + 'static>(
    mut buffered: R,
) -> io::Result<(Box<dyn Read>, &'static str)> {
    let head = buffered
        .fill_buf()
        .map_err(|e| io::Error::new(e.kind(), format!("read failed: {e}")))?;
    let magic = head[..head.len().min(4)].to_vec();
    Ok(match Compression::of(&magic) {
        Some(Compression::Gzip) => (
            Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            "gzip",
        ),
        Some(Compression::Zstd) => match zstd::stream::read::Decoder::with_buffer(buffered) {
            Ok(d) => (Box::new(d), "zstd"),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot start zstd decompression: {e}"),
                ))
            }
        },
        None => (Box::new(buffered), "plain"),
    })
}
