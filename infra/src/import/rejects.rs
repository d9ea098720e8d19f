//! The rejected-rows file: each rejected row as it was in the file, and why
//! (`line`, `error_code`, `error_message`, `error_field`), in line order. Fix
//! it and import it again: its own error columns are not sent.

use super::rows::{Rejection, Row, REJECT_COLUMNS};
use std::path::{Path, PathBuf};

/// `leads.csv` → `leads.rejected.csv` beside it (any other name gets
/// `.rejected.csv` added).
pub fn default_path(input: &Path) -> PathBuf {
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = match name.len().checked_sub(4) {
        Some(cut) if name.is_char_boundary(cut) && name[cut..].eq_ignore_ascii_case(".csv") => {
            &name[..cut]
        }
        _ => name.as_str(),
    };
    input.with_file_name(format!("{stem}.rejected.csv"))
}

/// Whether `path` is a rejected-rows file (its header ends with our
/// columns), so it may be replaced or removed.
pub fn is_ours(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(std::io::BufReader::new(file));
    match reader.records().next() {
        Some(Ok(header)) => {
            let h: Vec<&str> = header.iter().collect();
            h.len() >= REJECT_COLUMNS.len() && h[h.len() - REJECT_COLUMNS.len()..] == REJECT_COLUMNS
        }
        _ => false,
    }
}

/// Writes the rejected rows to `path` (through a temporary file beside it,
/// so a crash leaves the old file or the new one, never half of one).
pub fn write(
    path: &Path,
    columns: &[String],
    rejected: &[(&Row, &Rejection)],
) -> std::io::Result<()> {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name()
            .map_or("rejected".into(), |n| n.to_string_lossy())
    ));
    {
        let mut w = csv::Writer::from_path(&tmp)?;
        // A rejected-rows file imported again: its old error columns give way to the new ones.
        let own = if columns.len() > REJECT_COLUMNS.len()
            && columns[columns.len() - REJECT_COLUMNS.len()..] == REJECT_COLUMNS
        {
            columns.len() - REJECT_COLUMNS.len()
        } else {
            columns.len()
        };
        w.write_record(
            columns[..own]
                .iter()
                .map(String::as_str)
                .chain(REJECT_COLUMNS),
        )?;
        for (row, why) in rejected {
            // As in the file; a short row is padded so the error columns line up.
            let cells = (0..own).map(|i| row.cells.get(i).map_or("", String::as_str));
            let line = row.line.to_string();
            w.write_record(cells.chain([
                line.as_str(),
                why.code.as_str(),
                why.message.as_str(),
                why.field.as_deref().unwrap_or(""),
            ]))?;
        }
        w.flush()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_path_is_beside_the_input() {
        for (input, rejects) in [
            ("leads.csv", "leads.rejected.csv"),
            ("/tmp/x/Fair 2026.CSV", "/tmp/x/Fair 2026.rejected.csv"),
            ("list.txt", "list.txt.rejected.csv"),
            ("leads.rejected.csv", "leads.rejected.rejected.csv"),
            ("é.csv", "é.rejected.csv"),
        ] {
            assert_eq!(
                default_path(Path::new(input)),
                Path::new(rejects),
                "{input}"
            );
        }
    }

    #[test]
    fn rejected_rows_keep_their_cells_and_say_why() {
        let dir = std::env::temp_dir().join(format!("leadflow-rejects-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("leads.rejected.csv");
        let columns: Vec<String> = ["email", "company"].map(String::from).to_vec();
        let bad = Row {
            line: 3,
            cells: vec!["not-an-address".into(), "Acme, \"Inc.\"".into()],
        };
        let short = Row {
            line: 7,
            cells: vec!["x@example.com".into()],
        };
        let invalid = Rejection {
            code: "invalid_email".into(),
            message: "is not a valid address".into(),
            field: Some("email".into()),
        };
        let count = Rejection {
            code: "column_count".into(),
            message: "has 1 cells; the header has 2 columns (not sent)".into(),
            field: None,
        };
        assert!(!is_ours(&path));
        write(&path, &columns, &[(&bad, &invalid), (&short, &count)]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "email,company,line,error_code,error_message,error_field\n\
             not-an-address,\"Acme, \"\"Inc.\"\"\",3,invalid_email,is not a valid address,email\n\
             x@example.com,,7,column_count,has 1 cells; the header has 2 columns (not sent),\n"
        );
        assert!(is_ours(&path));

        // Imported again, a rejected-rows file gets fresh error columns, not a second set.
        let again: Vec<String> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .split(',')
            .map(String::from)
            .collect();
        write(&path, &again, &[(&bad, &invalid)]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("email,company,line,error_code,error_message,error_field\n"),
            "{text}"
        );
        std::fs::write(&path, "email,company\n").unwrap();
        assert!(!is_ours(&path), "someone else's file");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
