//! The file as rows to post: read and checked whole before anything is sent,
//! each row turned into the intake's JSON body and the Idempotency-Key that
//! makes a second run replay the first one's answers.

use leadflow::domain::inquiry::Source;
use std::collections::BTreeMap;
use std::path::Path;

/// The columns the rejected-rows file adds; a file that ends with them is
/// one of ours (a fixed rejected-rows file can be imported as it is: these
/// columns are not sent).
pub const REJECT_COLUMNS: [&str; 4] = ["line", "error_code", "error_message", "error_field"];

/// Why a row was not taken: the intake's error JSON, or our own check of the
/// row before sending it (`column_count`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

/// The CSV file, checked: a header of field names with an `email` column,
/// and its non-empty rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// The header as in the file (trimmed, without a byte-order mark).
    pub columns: Vec<String>,
    /// Whether each column is sent: named, and not one of [`REJECT_COLUMNS`]
    /// at the end of a rejected-rows file.
    sent: Vec<bool>,
    pub rows: Vec<Row>,
    /// Rows whose every cell is blank (a spreadsheet's trailing `,,,`): skipped.
    pub blank_rows: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The file's line where the row starts (the header is line 1).
    pub line: u64,
    pub cells: Vec<String>,
}

/// What the command line puts on every row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub source: Source,
    pub campaign: Option<String>,
}

impl Sheet {
    /// Reads `path`; every problem that would make every row fail is an error
    /// here, so that nothing is sent.
    pub fn read(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
        let text = String::from_utf8(bytes).map_err(|_| {
            "is not UTF-8 text (a spreadsheet? save it as \"CSV UTF-8\")".to_string()
        })?;
        Self::parse(&text)
    }

    /// RFC 4180 CSV (quoted fields, doubled quotes, CRLF, newlines inside
    /// quotes, a byte-order mark), its first row the intake's field names.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.contains('\0') {
            return Err("is not a CSV file (it holds binary data)".into());
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut records = reader.records();
        let header = match records.next() {
            None => return Err("is empty: the first line must name the columns".into()),
            Some(Err(e)) => return Err(format!("is not a CSV file: {e}")),
            Some(Ok(h)) => h
                .iter()
                .map(|h| h.trim().trim_start_matches('\u{feff}').trim().to_string())
                .collect::<Vec<_>>(),
        };
        let columns = header;
        let ours = columns.len() > REJECT_COLUMNS.len()
            && columns[columns.len() - REJECT_COLUMNS.len()..] == REJECT_COLUMNS;
        let data_columns = if ours {
            columns.len() - REJECT_COLUMNS.len()
        } else {
            columns.len()
        };
        let sent: Vec<bool> = (0..columns.len())
            .map(|i| i < data_columns && !columns[i].is_empty())
            .collect();
        if !columns.iter().any(|c| c == "email") {
            let like = columns
                .iter()
                .find(|c| c.eq_ignore_ascii_case("email") || c.eq_ignore_ascii_case("e-mail"));
            return Err(match like {
                Some(c) => format!(
                    "has no `email` column (it has `{c}`: the columns are named as the intake's fields, in lower case)"
                ),
                None => "has no `email` column: the first line must name the columns as the intake's fields (email, first_name, company, …)".into(),
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, name) in columns.iter().enumerate() {
            if !sent[i] {
                continue;
            }
            if !field_name(name) {
                return Err(format!(
                    "column {} is named {name:?}: the intake takes field names of up to 64 letters, digits, '_', '-' or '.'",
                    i + 1
                ));
            }
            if !seen.insert(name.as_str()) {
                return Err(format!("names the column `{name}` twice"));
            }
        }
        let mut rows = Vec::new();
        let mut blank_rows = 0;
        for record in records {
            let record = record.map_err(|e| format!("is not a CSV file: {e}"))?;
            // The reader's position is where the previous record ended, before
            // the blank lines it skips: the record starts after them.
            let line = record.position().map_or(0, |p| {
                let bytes = text.as_bytes();
                let mut at = (p.byte() as usize).min(bytes.len());
                while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
                    at += 1;
                }
                1 + bytes[..at].iter().filter(|b| **b == b'\n').count() as u64
            });
            let cells: Vec<String> = record.iter().map(str::to_string).collect();
            if cells.iter().all(|c| c.trim().is_empty()) {
                blank_rows += 1;
                continue;
            }
            rows.push(Row { line, cells });
        }
        Ok(Sheet {
            columns,
            sent,
            rows,
            blank_rows,
        })
    }

    /// The row's fields as the intake takes them: each sent column's value,
    /// trimmed, blank ones left out (the intake treats a blank field as
    /// absent), with the command line's source and campaign.
    pub fn fields(&self, row: &Row, stamp: &Stamp) -> Result<BTreeMap<String, String>, Rejection> {
        let width = self.columns.len();
        let extra_filled = row.cells.iter().skip(width).any(|c| !c.trim().is_empty());
        if row.cells.len() < width || extra_filled {
            return Err(Rejection {
                code: "column_count".into(),
                message: format!(
                    "has {} cells; the header has {} columns (not sent)",
                    row.cells.len(),
                    width
                ),
                field: None,
            });
        }
        let mut fields = BTreeMap::new();
        for ((name, cell), sent) in self.columns.iter().zip(&row.cells).zip(&self.sent) {
            let value = cell.trim();
            if *sent && !value.is_empty() {
                fields.insert(name.clone(), value.to_string());
            }
        }
        fields.insert("source".into(), stamp.source.as_str().into());
        if let Some(c) = &stamp.campaign {
            fields.insert("campaign".into(), c.clone());
        }
        Ok(fields)
    }

    /// How many rows name a source or campaign of their own that the command
    /// line replaces.
    pub fn overridden(&self, stamp: &Stamp) -> (usize, usize) {
        let column = |name: &str| self.columns.iter().position(|c| c == name);
        let differs = |i: Option<usize>, value: Option<&str>| {
            let Some(i) = i else { return 0 };
            self.rows
                .iter()
                .filter(|r| {
                    let own = r.cells.get(i).map_or("", |c| c.trim());
                    !own.is_empty() && Some(own) != value
                })
                .count()
        };
        (
            differs(column("source"), Some(stamp.source.as_str())),
            match stamp.campaign {
                Some(_) => differs(column("campaign"), stamp.campaign.as_deref()),
                None => 0,
            },
        )
    }
}

/// A name the intake takes for a field (its own fields all are such names).
fn field_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The JSON body posted for `fields`: an object with its keys in order, so
/// the same fields always make the same bytes.
pub fn body(fields: &BTreeMap<String, String>) -> String {
    serde_json::to_string(fields).unwrap_or_default()
}

/// The row's Idempotency-Key: a SHA-256 of the body, which holds the row's
/// normalized content (trimmed, blanks left out, in name order) and the
/// source and campaign. The same row in the same import is the same key,
/// whatever its line, its column order or its cells' surrounding spaces.
pub fn idempotency_key(body: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"leadflow import v1\0");
    h.update(body.as_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("import-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(campaign: Option<&str>) -> Stamp {
        Stamp {
            source: Source::Event,
            campaign: campaign.map(str::to_string),
        }
    }

    fn bodies(text: &str, stamp: &Stamp) -> Vec<Result<String, Rejection>> {
        let sheet = Sheet::parse(text).unwrap();
        sheet
            .rows
            .iter()
            .map(|r| sheet.fields(r, stamp).map(|f| body(&f)))
            .collect()
    }

    #[test]
    fn a_row_becomes_the_intakes_json_with_the_command_lines_source_and_campaign() {
        let text = "\u{feff}email, first_name ,company,source,campaign,booth_no,consent_email\r\n\
                    \" ana@example.com \",Ana,\"Acme, Inc.\",web,old,B12,true\r\n\
                    bo@example.com,,,,,,\r\n";
        let got = bodies(text, &stamp(Some("fair-2026")));
        assert_eq!(
            got[0].as_deref().unwrap(),
            r#"{"booth_no":"B12","campaign":"fair-2026","company":"Acme, Inc.","consent_email":"true","email":"ana@example.com","first_name":"Ana","source":"event"}"#
        );
        assert_eq!(
            got[1].as_deref().unwrap(),
            r#"{"campaign":"fair-2026","email":"bo@example.com","source":"event"}"#
        );
        // Without --campaign, a row's own campaign goes through.
        let got = bodies(text, &stamp(None));
        assert_eq!(
            got[1].as_deref().unwrap(),
            r#"{"email":"bo@example.com","source":"event"}"#
        );
        assert!(got[0].as_deref().unwrap().contains(r#""campaign":"old""#));
        let sheet = Sheet::parse(text).unwrap();
        assert_eq!(sheet.overridden(&stamp(Some("fair-2026"))), (1, 1));
        assert_eq!(sheet.overridden(&stamp(None)), (1, 0));
    }

    #[test]
    fn lines_blank_rows_and_short_rows() {
        let text = "email,company\na@example.com,\"Two\nlines\"\n,\n\nb@example.com\nc@example.com,C,,\nd@example.com,D,x\n";
        let sheet = Sheet::parse(text).unwrap();
        assert_eq!(sheet.blank_rows, 1);
        let lines: Vec<u64> = sheet.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 6, 7, 8]);
        let crlf = Sheet::parse(&text.replace('\n', "\r\n")).unwrap();
        let crlf_lines: Vec<u64> = crlf.rows.iter().map(|r| r.line).collect();
        assert_eq!(crlf_lines, lines);
        let got = bodies(text, &stamp(None));
        assert!(got[0].is_ok());
        assert_eq!(got[1].as_ref().unwrap_err().code, "column_count");
        assert!(got[2].is_ok(), "trailing empty cells are fine");
        assert_eq!(got[3].as_ref().unwrap_err().code, "column_count");
    }

    #[test]
    fn a_file_every_row_of_which_would_fail_is_refused_whole() {
        for (text, says) in [
            ("", "is empty"),
            ("first_name,company\nAna,Acme\n", "no `email` column"),
            ("Email,Company\na@example.com,Acme\n", "it has `Email`"),
            ("email,First Name\na@example.com,Ana\n", "\"First Name\""),
            ("email,company,company\na@example.com,A,B\n", "twice"),
            ("{\"email\": 1}\n", "no `email` column"),
            ("email\u{0}\u{1}\n", "binary"),
        ] {
            let e = Sheet::parse(text).unwrap_err();
            assert!(e.contains(says), "{text:?}: {e}");
        }
        // An unnamed (empty) column is not sent; the rest is.
        let got = bodies("email,,company\na@example.com,x,A\n", &stamp(None));
        assert_eq!(
            got[0].as_deref().unwrap(),
            r#"{"company":"A","email":"a@example.com","source":"event"}"#
        );
    }

    #[test]
    fn a_rejected_rows_file_imports_without_its_error_columns() {
        let text = "email,company,line,error_code,error_message,error_field\n\
                    a@example.com,A,4,invalid_email,\"is not valid\",email\n";
        assert_eq!(
            bodies(text, &stamp(None))[0].as_deref().unwrap(),
            r#"{"company":"A","email":"a@example.com","source":"event"}"#
        );
    }

    #[test]
    fn the_key_is_stable_and_follows_the_content_source_and_campaign() {
        let key =
            |text: &str, stamp: &Stamp| idempotency_key(bodies(text, stamp)[0].as_ref().unwrap());
        let base = key("email,company\na@example.com,Acme\n", &stamp(Some("x")));
        // Pinned (as `printf 'leadflow import v1\0{body}' | sha256sum` computes
        // it): a key must not change between versions, or a re-run within the
        // intake's 24 h would record every row again.
        assert_eq!(
            base,
            "import-25151d4217b568cf3164fc79c8ae053642806139be11d11d5ec9b31351e45e01"
        );
        assert_eq!(base.len(), "import-".len() + 64);
        // Same content: spaces, column order, blank cells, line do not matter.
        for same in [
            "company,email\n Acme , a@example.com\n",
            "email,company,phone\n\n\na@example.com,Acme,\n",
        ] {
            assert_eq!(key(same, &stamp(Some("x"))), base, "{same:?}");
        }
        // Other content, campaign or source: another key.
        let mut others = vec![
            key("email,company\na@example.com,ACME\n", &stamp(Some("x"))),
            key("email,company\nb@example.com,Acme\n", &stamp(Some("x"))),
            key("email,company\na@example.com,Acme\n", &stamp(Some("y"))),
            key("email,company\na@example.com,Acme\n", &stamp(None)),
            key(
                "email,company\na@example.com,Acme\n",
                &Stamp {
                    source: Source::PurchasedList,
                    campaign: Some("x".into()),
                },
            ),
        ];
        others.push(base);
        let n = others.len();
        others.sort();
        others.dedup();
        assert_eq!(others.len(), n);
    }
}
