//! Every shell command in the README and the docs either runs here, as written (with
//! `cargo run -p NAME --` standing for the binary the test build made), or its block is marked
//! as not run by the tests, and why, in an HTML comment on the line before the fence.

use std::path::{Path, PathBuf};
use std::process::Command;

use otel_tests::{repo_root, scratch_dir};

/// Files whose `sh` blocks are checked.
const DOCUMENTS: [&str; 4] = ["README.md", "collector-config/README.md", "examples/README.md", "docs"];

/// One command of an `sh` block: its text (continuations joined, comment cut) and whether the
/// docs mark it as not run here.
struct DocCommand {
    file: String,
    text: String,
    marked: bool,
}

fn commands() -> Vec<DocCommand> {
    let root = repo_root();
    let mut files: Vec<PathBuf> = Vec::new();
    for doc in DOCUMENTS {
        let path = root.join(doc);
        if path.is_dir() {
            let mut md: Vec<PathBuf> = std::fs::read_dir(&path)
                .expect("docs")
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "md"))
                .collect();
            md.sort();
            files.extend(md);
        } else {
            files.push(path);
        }
    }
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read doc");
        let name = file.strip_prefix(&root).unwrap_or(&file).display().to_string();
        let chunks: Vec<&str> = text.split("```sh\n").collect();
        for (before, block) in chunks.iter().zip(chunks.iter().skip(1)) {
            let block = block.split("```").next().unwrap_or_default();
            // A block the docs do not run is marked by an HTML comment on the line before its
            // fence, which a reader of the rendered page does not see.
            let block_marked =
                before.trim_end().lines().last().is_some_and(|l| l.starts_with("<!--") && l.contains("not run by the tests"));
            let mut pending = String::new();
            for line in block.lines() {
                let trimmed = line.trim();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    continue;
                }
                if let Some(start) = trimmed.strip_suffix('\\') {
                    pending.push_str(start.trim_end());
                    pending.push(' ');
                    continue;
                }
                pending.push_str(trimmed);
                let full = std::mem::take(&mut pending);
                let command = match full.find("  #").or_else(|| full.find(" # ")) {
                    Some(i) => full[..i].trim().to_owned(),
                    None => full.trim().to_owned(),
                };
                out.push(DocCommand { file: name.clone(), text: command, marked: block_marked });
            }
        }
    }
    out
}

/// Where the test build put its binaries and examples.
fn built(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target"));
    let debug = target.join("debug");
    [debug.join(name), debug.join("examples").join(name)].into_iter().find(|p| p.is_file()).unwrap_or_else(|| debug.join(name))
}

/// The command with `cargo run [-q] [--release] -p NAME [--example EX] --` replaced by the
/// built binary.
fn as_built(command: &str) -> String {
    let Some(rest) = command.strip_prefix("cargo run ") else { return command.to_owned() };
    let (flags, args) = rest.split_once(" -- ").unwrap_or((rest, ""));
    let words: Vec<&str> = flags.split_whitespace().collect();
    let after = |flag: &str| words.iter().position(|w| *w == flag).and_then(|i| words.get(i + 1)).copied();
    let binary = after("--example").or_else(|| after("-p")).unwrap_or_default();
    format!("{} {args}", built(binary).display())
}

/// Runs `command` with `sh` in `dir` (at most 3 minutes); its output, or a panic saying what
/// failed.
fn run(command: &str, dir: &Path) -> String {
    let output = Command::new("timeout").arg("180").arg("sh").arg("-c").arg(command).current_dir(dir).output().expect("sh");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "`{command}` failed in {}:\n{text}", dir.display());
    text
}

#[test]
fn every_documented_command_runs_or_says_why_not() {
    let commands = commands();
    assert!(commands.len() > 10, "only {} commands found", commands.len());
    // Commands run as written, in a scratch directory where the repository's data is at hand.
    let scratch = scratch_dir("docs-commands");
    for data in ["exporters", "collector-config"] {
        std::os::unix::fs::symlink(repo_root().join(data), scratch.join(data)).expect("link the repository's data");
    }
    let (mut ran, mut marked, mut unaccounted) = (Vec::new(), 0, Vec::new());
    for command in &commands {
        if command.marked {
            marked += 1;
            continue;
        }
        let runnable = command.text.starts_with("cargo run") || command.text.starts_with("promtool ");
        if !runnable {
            unaccounted.push(format!("{}: `{}`", command.file, command.text));
            continue;
        }
        run(&as_built(&command.text), &scratch);
        ran.push(command.text.clone());
    }
    assert!(
        unaccounted.is_empty(),
        "commands neither run here nor marked `# not run by the tests: <why>` in the docs:\n{}",
        unaccounted.join("\n")
    );
    println!("{} documented commands: {} run here, {marked} marked with the reason they are not", commands.len(), ran.len());
}
