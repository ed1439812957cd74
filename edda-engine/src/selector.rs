//! Parsing field selectors `:(…)` (reference §2.5, EDDA's `FieldSelectorParser`): a PEG parser
//! over the raw text with whitespace skipped before every token, ordered choice as in Scala's
//! parser combinators (so `=1.5` and integers beyond 32 bits fail), and unquoted words rejected.
//! Every failure is an `Err`, which EDDA answers with a 500.

use std::collections::BTreeMap;

use regex::Regex;

#[derive(Debug)]
pub(crate) enum Expr {
    Fixed(bool),
    Flatten,
    Keys(BTreeMap<String, Expr>),
    Eq(Lit),
    Ne(Lit),
    Regex(Regex, bool),
}

#[derive(Debug)]
pub(crate) enum Lit {
    Null,
    Bool(bool),
    Int(i32),
    Float(f64),
    Str(String),
}

/// Parse a whole selector such as `:(a,b:(c),d~/^x/)`; any error is a 500 in EDDA.
pub(crate) fn parse(text: &str) -> Result<Expr, String> {
    let mut p = Parser { s: text, pos: 0 };
    let expr = p
        .expression()
        .ok_or_else(|| format!("could not parse expression '{text}'"))??;
    p.ws();
    if p.pos != text.len() {
        return Err(format!(
            "could not parse expression '{text}': trailing input"
        ));
    }
    Ok(expr)
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

/// `None` = this alternative does not apply (backtrack); `Some(Err)` = thrown exception.
type Parsed<T> = Option<Result<T, String>>;

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        let rest = &self.s[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn lit(&mut self, token: &str) -> bool {
        self.ws();
        let ok = self.s[self.pos..].starts_with(token);
        if ok {
            self.pos += token.len();
        }
        ok
    }

    fn take(&mut self, re: &str) -> Option<&'a str> {
        self.ws();
        let m = Regex::new(&format!("^(?:{re})"))
            .ok()?
            .find(&self.s[self.pos..])?;
        let start = self.pos;
        self.pos += m.end();
        let s: &'a str = self.s;
        Some(&s[start..self.pos])
    }

    fn attempt<T>(&mut self, f: impl FnOnce(&mut Self) -> Parsed<T>) -> Parsed<T> {
        let saved = self.pos;
        let out = f(self);
        if out.is_none() {
            self.pos = saved;
        }
        out
    }

    fn expression(&mut self) -> Parsed<Expr> {
        if let Some(r) = self.attempt(|p| {
            p.lit(":").then_some(())?;
            p.key_select().map(|r| r.map(|_| Expr::Flatten))
        }) {
            return Some(r);
        }
        self.attempt(|p| p.key_select())
    }

    fn key_select(&mut self) -> Parsed<Expr> {
        self.lit(":(").then_some(())?;
        let mut keys = BTreeMap::new();
        loop {
            let id = self.take(r"[a-zA-Z0-9_.\-]*")?.to_string();
            let sub = match self.operator() {
                Some(Ok(e)) => e,
                Some(Err(e)) => return Some(Err(e)),
                None => Expr::Fixed(true),
            };
            keys.insert(id, sub);
            if !self.lit(",") {
                break;
            }
        }
        self.lit(")").then_some(())?;
        Some(Ok(Expr::Keys(keys)))
    }

    fn operator(&mut self) -> Parsed<Expr> {
        if let Some(r) = self.attempt(|p| {
            p.lit("=").then_some(())?;
            p.literal().map(|r| r.map(Expr::Eq))
        }) {
            return Some(r);
        }
        if let Some(r) = self.attempt(|p| {
            p.lit("!=").then_some(())?;
            p.literal().map(|r| r.map(Expr::Ne))
        }) {
            return Some(r);
        }
        for (op, invert) in [("~", false), ("!~", true)] {
            if let Some(r) = self.attempt(|p| {
                p.lit(op).then_some(())?;
                p.lit("/").then_some(())?;
                let re = p.take("[^/]*")?.to_string();
                p.lit("/").then_some(())?;
                Some(
                    Regex::new(&re)
                        .map(|r| Expr::Regex(r, invert))
                        .map_err(|e| e.to_string()),
                )
            }) {
                return Some(r);
            }
        }
        self.attempt(|p| p.expression())
    }

    fn literal(&mut self) -> Parsed<Lit> {
        if let Some(s) = self.take(r#""[^"]*""#) {
            return Some(Ok(Lit::Str(s[1..s.len() - 1].to_string())));
        }
        for (word, lit) in [
            ("null", Lit::Null),
            ("true", Lit::Bool(true)),
            ("false", Lit::Bool(false)),
        ] {
            if self.lit(word) {
                return Some(Ok(lit));
            }
        }
        // Ordered choice commits to the integer form; `toInt` overflow throws (HTTP 500).
        if let Some(digits) = self.take("-?[0-9]+") {
            return Some(
                digits
                    .parse()
                    .map(Lit::Int)
                    .map_err(|e| format!("{e}: {digits}")),
            );
        }
        let f = self.take(r"[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?")?;
        Some(f.parse().map(Lit::Float).map_err(|e| format!("{e}: {f}")))
    }
}
