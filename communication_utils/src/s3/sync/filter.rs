//! Include/exclude patterns, as `aws s3 sync --exclude/--include` reads them:
//! shell-style patterns (`*`, `?`, `[...]`, as Python's `fnmatch`) matched
//! against the whole relative path, the last matching rule deciding.

/// One `--include` or `--exclude`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    pub(crate) include: bool,
    pub(crate) pattern: String,
}

/// Whether `path` (relative, `/`-separated) is taken: the last rule whose
/// pattern matches decides; with none matching, it is.
pub(crate) fn selected(rules: &[Rule], path: &str) -> bool {
    rules
        .iter()
        .rev()
        .find(|r| matches(&r.pattern, path))
        .is_none_or(|r| r.include)
}

/// `fnmatch`: `*` any run of characters (`/` included), `?` one character,
/// `[abc]`, `[a-z]`, `[!abc]` one character of (or not of) a class; a `[`
/// without its `]` is a plain `[`. Case-sensitive.
pub(crate) fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point (the last `*`): linear in
    // practice, never exponential.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((hit, next)) = class(&p, pi, t[ti]) {
                        if hit {
                            pi = next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The class starting at `p[at] == '['`: whether `c` is in it and the index
/// after its `]`; `None` when the class is not closed.
fn class(p: &[char], at: usize, c: char) -> Option<(bool, usize)> {
    let mut i = at + 1;
    let negated = matches!(p.get(i), Some('!'));
    if negated {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let &here = p.get(i)?;
        if here == ']' && !first {
            return Some((hit != negated, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&e| e != ']') {
            let end = p[i + 2];
            hit |= here <= c && c <= end;
            i += 3;
        } else {
            hit |= here == c;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_fnmatch_does() {
        for (pattern, text, want) in [
            ("*", "a/b/c.txt", true),
            ("*.txt", "a/b/c.txt", true),
            ("*.txt", "a/b/c.txt.gz", false),
            ("a/*", "a/b/c", true),
            ("a/*", "b/a/c", false),
            ("*/tmp/*", "x/tmp/y", true),
            ("?.log", "a.log", true),
            ("?.log", "ab.log", false),
            ("[ab].csv", "b.csv", true),
            ("[ab].csv", "c.csv", false),
            ("[!ab].csv", "c.csv", true),
            ("[a-c]x", "bx", true),
            ("[a-c]x", "dx", false),
            ("[]]", "]", true),
            ("[-a]", "-", true),
            ("a[b", "a[b", true),
            ("", "", true),
            ("", "a", false),
            ("**", "", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("*.TXT", "a.txt", false),
            ("é*", "été", true),
        ] {
            assert_eq!(matches(pattern, text), want, "{pattern} vs {text}");
        }
    }

    #[test]
    fn the_last_matching_rule_decides() {
        let rule = |include, p: &str| Rule {
            include,
            pattern: p.into(),
        };
        assert!(selected(&[], "x"));
        let only_txt = [rule(false, "*"), rule(true, "*.txt")];
        assert!(selected(&only_txt, "a/b.txt"));
        assert!(!selected(&only_txt, "a/b.bin"));
        let no_tmp = [rule(true, "*"), rule(false, "tmp/*")];
        assert!(!selected(&no_tmp, "tmp/x"));
        assert!(selected(&no_tmp, "x/tmp/x"));
    }

    #[test]
    fn long_patterns_do_not_backtrack_exponentially() {
        let text = "a".repeat(2000);
        let pattern = format!("{}b", "*a".repeat(50));
        assert!(!matches(&pattern, &text));
    }
}
