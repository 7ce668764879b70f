//! Writes the man page, `manifest-tool.1`, on stdout (`make man`): the help pages of the binary
//! in roff, with every flag of the flag table (`cli::FLAGS`) as an option entry. Nothing here
//! is in the binary, so the man page costs it no size.

use manifest_tool::cli::{self, Command, FLAGS, Scope};

/// The text of `manifest-tool help WORDS...`.
fn help(words: &[&str]) -> String {
    let args = std::iter::once("help").chain(words.iter().copied());
    match cli::parse(args.map(Into::into)) {
        Ok(cli::Cli {
            command: Command::Help(text),
            ..
        }) => text,
        other => panic!("help {words:?} gave no page: {other:?}"),
    }
}

/// `text` escaped for roff: backslashes, hyphens (so that a flag pastes as typed) and a line
/// that would start with a control character.
fn roff(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = line.replace('\\', "\\e").replace('-', "\\-");
            if line.starts_with(['.', '\'']) {
                format!("\\&{line}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect()
}

/// A help page without its title line and its generated flag list: the hand-written part.
fn prose(page: &str) -> &str {
    let body = page.split_once('\n').map_or("", |(_, rest)| rest);
    let end = body
        .find("\nFlags:\n")
        .or_else(|| body.find("\nGlobal flags"))
        .unwrap_or(body.len());
    body[..end].trim_matches('\n')
}

/// The option entries of the flags of `scope`.
fn options(scope: Scope) -> String {
    let mut out = String::new();
    for flag in FLAGS.iter().filter(|flag| flag.scope == scope) {
        let short = flag
            .short
            .map(|c| format!("\\fB-{c}\\fR, "))
            .unwrap_or_default();
        let value = flag
            .value_name()
            .map(|v| format!(" \\fI{v}\\fR"))
            .unwrap_or_default();
        let tag = format!("{short}\\fB--{}\\fR{value}", flag.long).replace('-', "\\-");
        let help: Vec<&str> = flag.help.lines().map(str::trim).collect();
        out.push_str(&format!(".TP\n{tag}\n{}", roff(&help.join(" "))));
    }
    out
}

fn main() {
    let main_page = help(&[]);
    let title = main_page.lines().next().unwrap_or_default();
    let summary = title.split_once(": ").map_or(title, |(_, s)| s);
    let main_prose = prose(&main_page);
    let (usage, description) = main_prose.split_once("\n\n").unwrap_or((main_prose, ""));
    let mut out = format!(
        ".TH MANIFEST-TOOL 1 \"\" \"manifest-tool {}\" \"User Commands\"\n\
         .SH NAME\nmanifest-tool \\- {}.SH SYNOPSIS\n.nf\n{}.fi\n.SH DESCRIPTION\n{}",
        env!("CARGO_PKG_VERSION"),
        roff(summary),
        roff(usage.trim_start_matches("Usage:\n")),
        roff(description),
    );
    out.push_str(".SH OPTIONS\nGlobal flags, before or after the command:\n");
    out.push_str(&options(Scope::Global));
    out.push_str(".SH COMMANDS\n");
    let commands: [(&[&str], &[Scope]); 6] = [
        (&["inspect"], &[Scope::Inspect, Scope::Output]),
        (&["push"], &[Scope::Push]),
        (&["push", "from-spec"], &[]),
        (&["push", "from-args"], &[Scope::PushFromArgs]),
        (&["test-registry"], &[Scope::TestRegistry, Scope::Output]),
        (&["completion"], &[]),
    ];
    for (words, scopes) in commands {
        let page = help(words);
        out.push_str(&format!(".SS {}\n", words.join(" ")));
        let summary = page.lines().next().and_then(|l| l.split_once(": "));
        out.push_str(&roff(summary.map_or("", |(_, s)| s)));
        out.push_str(&format!(".PP\n.nf\n{}.fi\n", roff(prose(&page))));
        for scope in scopes {
            out.push_str(&options(*scope));
        }
    }
    out.push_str(
        ".SH SEE ALSO\nThe README of manifest\\-tool, and \\fBmanifest\\-tool help COMMAND\\fR.\n",
    );
    print!("{out}");
}
