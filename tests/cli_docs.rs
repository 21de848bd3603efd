//! `slipstream completions` and `slipstream man`: the bash script loaded by
//! a real bash and asked to complete, the manual pages rendered by groff
//! (or read as roff where the machine has none), both checked against the
//! commands and flags the README documents, listed here by hand.

// Helpers outside `#[test]` functions unwrap too: a failure is the test's.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_slipstream");

/// Every command of the README's table, and the two that document them.
const COMMANDS: &[&str] = &[
    "run",
    "backfill",
    "explain",
    "validate",
    "gen",
    "report",
    "what-if",
    "review",
    "suggest",
    "probe",
    "dev-broker",
    "demo",
    "openslo",
    "completions",
    "man",
];

fn slipstream(args: &[&str]) -> Vec<u8> {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "slipstream {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// What bash completes for the command line `slipstream WORDS...` (the
/// last word the one being typed), with the script sourced as a user's
/// shell would, and the function `complete -p` says is registered.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let program = r#"
        source "$1"; shift
        spec=$(complete -p slipstream) || { echo "not registered"; exit 1; }
        fn=$(sed -n 's/.* -F \([^ ]*\) .*/\1/p' <<<"$spec ")
        [ -n "$fn" ] || { echo "no function in: $spec"; exit 1; }
        COMP_WORDS=(slipstream "$@")
        COMP_CWORD=$#
        COMP_LINE="slipstream $*"
        COMP_POINT=${#COMP_LINE}
        "$fn" slipstream "${!#}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let out = Command::new("bash")
        .arg("-c")
        .arg(program)
        .arg("bash")
        .arg(script)
        .args(words)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "bash: {stdout}");
    let mut words: Vec<String> = stdout
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    words.sort();
    words
}

#[test]
fn bash_completes_commands_and_flags_from_the_generated_script() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("slipstream.bash");
    std::fs::write(&script, slipstream(&["completions", "bash"])).unwrap();

    assert_eq!(bash_complete(&script, &["back"]), ["backfill"]);
    assert_eq!(bash_complete(&script, &["re"]), ["report", "review"]);
    assert_eq!(bash_complete(&script, &["dev"]), ["dev-broker"]);
    assert_eq!(
        bash_complete(&script, &["backfill", "--no-m"]),
        ["--no-mmap"]
    );
    let openslo = bash_complete(&script, &["openslo", ""]);
    for sub in ["export", "import"] {
        assert!(openslo.iter().any(|w| w == sub), "{openslo:?}");
    }
    // Every command is offered at the first word.
    let all = bash_complete(&script, &[""]);
    for c in COMMANDS {
        assert!(all.iter().any(|w| w == c), "{c} missing from {all:?}");
    }
}

#[test]
fn every_shell_gets_a_script_naming_every_command() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = String::from_utf8(slipstream(&["completions", shell])).unwrap();
        for c in COMMANDS {
            assert!(script.contains(c), "{shell}: no {c}");
        }
    }
    let out = Command::new(BIN)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unknown shell is a usage error"
    );
}

/// `page` (roff) as text: groff's rendering when the machine has groff,
/// else the roff source with its escaped hyphens made plain.
fn render(page: &[u8]) -> String {
    let groff = Command::new("groff")
        .args(["-man", "-Tascii", "-rLL=250n", "-P-cbou"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    if let Ok(mut child) = groff {
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), page).unwrap();
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            return String::from_utf8(out.stdout).unwrap();
        }
    }
    String::from_utf8(page.to_vec())
        .unwrap()
        .replace("\\-", "-")
}

#[test]
fn the_man_page_has_its_header_and_names_every_command() {
    let page = slipstream(&["man"]);
    let roff = String::from_utf8(page.clone()).unwrap();
    assert!(
        roff.lines().any(|l| l.starts_with(".TH slipstream 1 ")),
        "no .TH header:\n{roff}"
    );
    let text = render(&page);
    assert!(text.contains("NAME"), "{text}");
    // The summary is Cargo.toml's description.
    assert!(
        text.contains("slipstream - Turns request logs into exact SLI and SLO numbers"),
        "{text}"
    );
    for c in COMMANDS {
        assert!(text.contains(&format!("slipstream-{c}(1)")), "{c}:\n{text}");
    }
}

#[test]
fn man_out_dir_writes_a_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("man1");
    let listed =
        String::from_utf8(slipstream(&["man", "--out-dir", out_dir.to_str().unwrap()])).unwrap();
    let mut want = vec!["slipstream.1".to_string()];
    want.extend(COMMANDS.iter().map(|c| format!("slipstream-{c}.1")));
    want.extend(["slipstream-openslo-export.1", "slipstream-openslo-import.1"].map(String::from));
    want.sort();
    let mut written: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written, want);
    assert_eq!(listed.lines().count(), want.len(), "{listed}");

    let backfill = render(&std::fs::read(out_dir.join("slipstream-backfill.1")).unwrap());
    for flag in [
        "--config",
        "--from",
        "--to",
        "--output",
        "--no-mmap",
        "--memory-limit",
        "--tmp-dir",
        "--strict",
    ] {
        assert!(backfill.contains(flag), "{flag}:\n{backfill}");
    }
}
