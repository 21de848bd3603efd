//! Outputs are shared and never lost: a backfill's `file` sink appends to
//! the very file another process appends to (same inode, nothing lost), a
//! symlinked `--output` stays a symlink, and Ctrl-C or SIGTERM in the middle
//! of a run leaves every output as it was, with no temporary file behind.

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn temporaries(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

/// Generated traffic and the window records an independent reading of it
/// expects.
fn traffic(dir: &Path, seed: &str) -> (std::path::PathBuf, Vec<Expect>) {
    let input = generate(
        &dir.join("in.jsonl"),
        &["--count", "3000", "--rate", "50", "--seed", seed],
    );
    let exp = expected(
        &parse_input(&fs::read(&input).expect("read"), MAX_DEFAULT).events,
        None,
        None,
    );
    (input, exp)
}

#[test]
fn a_file_sink_appends_to_the_file_another_process_keeps_appending_to() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), None);
    let (input, exp) = traffic(dir.path(), "77");
    let sink = dir.path().join("records.jsonl");
    let old = old_lines(40, false);
    fs::write(&sink, &old).expect("write the sink");

    // A stream job writing to the same sink: its handle stays open across
    // the backfill, in append mode, as `run` keeps it.
    let mut job = OpenOptions::new()
        .append(true)
        .open(&sink)
        .expect("open the sink for appending");
    let before = b"{\"kind\":\"job\",\"line\":\"before\"}\n";
    let after = b"{\"kind\":\"job\",\"line\":\"after\"}\n";
    job.write_all(before).expect("append before");
    let inode = fs::metadata(&sink).expect("stat").ino();

    let r = slipstream(
        &["backfill", "-c", &p(&cfg), &p(&input)],
        Some(dir.path()),
        None,
    );
    r.assert_code(0, "backfill to the file sink");
    job.write_all(after).expect("append after");
    drop(job);

    assert_eq!(
        fs::metadata(&sink).expect("stat").ino(),
        inode,
        "the sink must stay the same file (same inode)"
    );
    let text = fs::read(&sink).expect("read the sink");
    let (head, rest) = text.split_at(old.len());
    assert!(
        head == old.as_slice(),
        "the old lines come first, unchanged"
    );
    let rest = rest
        .strip_prefix(before.as_slice())
        .expect("the job's line written before the backfill follows the old lines");
    let records = rest
        .strip_suffix(after.as_slice())
        .expect("the job's line written after the backfill is in the file, last");
    assert_records(&window_records(records), &exp);
    assert!(
        records.iter().filter(|&&b| b == b'\n').count() > exp.len(),
        "slo records follow the window records"
    );
    assert!(
        temporaries(dir.path()).is_empty(),
        "no temporary file is left"
    );
}

#[test]
fn a_symlinked_output_stays_a_symlink_and_its_target_gets_the_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), None);
    let (input, exp) = traffic(dir.path(), "78");
    let data = dir.path().join("data");
    let out = dir.path().join("out");
    fs::create_dir_all(&data).expect("mkdir data");
    fs::create_dir_all(&out).expect("mkdir out");
    let real = data.join("windows.jsonl");
    fs::write(&real, old_lines(12, false)).expect("write the target");
    let link = out.join("windows.jsonl");
    std::os::unix::fs::symlink("../data/windows.jsonl", &link).expect("symlink");

    let (r, _) = backfill(&cfg, &link, &[], &[&p(&input)], None);
    r.assert_code(0, "backfill --output through a symlink");

    let meta = fs::symlink_metadata(&link).expect("lstat the link");
    assert!(
        meta.file_type().is_symlink(),
        "--output must stay a symlink"
    );
    assert_eq!(
        fs::read_link(&link).expect("readlink"),
        Path::new("../data/windows.jsonl"),
        "the link still points where it did"
    );
    let written = fs::read(&real).expect("read the target");
    assert!(
        !String::from_utf8_lossy(&written).contains("\"note\""),
        "--output replaces the old lines of the link's target"
    );
    assert_records(&window_records(&written), &exp);
    assert!(temporaries(&data).is_empty(), "no temporary file in data/");
    assert!(temporaries(&out).is_empty(), "no temporary file in out/");
}

/// A backfill reading stdin from a pipe the test keeps open.
fn start_on_a_pipe(cfg: &Path, cwd: &Path, extra: &[&str]) -> Child {
    let mut child = Command::new(BIN)
        .args(["backfill", "-c", &p(cfg)])
        .args(extra)
        .arg("-")
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn slipstream");
    let lines = gen_bytes(&["--count", "500", "--rate", "50", "--seed", "79"]);
    child
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(&lines)
        .expect("feed the backfill");
    child
}

/// Waits until `dir` holds a temporary file: the run has staged its output
/// and handles the signals.
fn wait_for_staging(dir: &Path) {
    let started = Instant::now();
    while temporaries(dir).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the backfill never staged its output in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal` and waits (at most 20 s) for the exit.
fn signal_and_wait(child: &mut Child, signal: &str) -> ExitStatus {
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(ok.success(), "kill -{signal} failed");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the backfill did not exit within 20 s of {signal}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut text);
    }
    text
}

#[test]
fn sigint_or_sigterm_leaves_the_outputs_as_they_were_and_no_temporary_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), None);

    // --output, interrupted by SIGINT (Ctrl-C): exit 130.
    let out_dir = dir.path().join("out");
    fs::create_dir_all(&out_dir).expect("mkdir");
    let out = out_dir.join("windows.jsonl");
    let old_out = old_lines(30, false);
    fs::write(&out, &old_out).expect("write the output");
    let mut child = start_on_a_pipe(&cfg, dir.path(), &["--output", &p(&out)]);
    wait_for_staging(&out_dir);
    let status = signal_and_wait(&mut child, "INT");
    let stderr = stderr_of(&mut child);
    assert_eq!(
        status.code(),
        Some(130),
        "SIGINT exits 130; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("interrupted"),
        "stderr says the run was interrupted:\n{stderr}"
    );
    assert!(fs::read(&out).expect("read") == old_out, "--output changed");
    assert_eq!(
        names(&out_dir),
        ["windows.jsonl"],
        "no temporary file is left"
    );

    // The configuration's file sink, stopped by SIGTERM: exit 0, as every
    // command stopped by SIGTERM.
    let sink = dir.path().join("records.jsonl");
    let old_sink = old_lines(25, false);
    fs::write(&sink, &old_sink).expect("write the sink");
    let mut child = start_on_a_pipe(&cfg, dir.path(), &[]);
    wait_for_staging(dir.path());
    let status = signal_and_wait(&mut child, "TERM");
    let stderr = stderr_of(&mut child);
    assert_eq!(status.code(), Some(0), "SIGTERM exits 0; stderr:\n{stderr}");
    assert!(
        stderr.contains("interrupted by SIGTERM") && stderr.contains("did not finish"),
        "stderr says the records were not written:\n{stderr}"
    );
    assert!(
        fs::read(&sink).expect("read") == old_sink,
        "the file sink changed"
    );
    assert_eq!(
        names(dir.path()),
        ["out", "records.jsonl", "slipstream.toml"],
        "no temporary file is left"
    );
}
