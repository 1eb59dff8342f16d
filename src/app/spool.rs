//! Exports are written to a file before they are sent, never held whole in
//! memory: a spreadsheet of a province's register is 56 MB of XLSX or
//! 141 MB of CSV. The file is created in `<data dir>/.exports`, written by
//! the sheet writer through a buffer, then removed from the folder as soon
//! as it is complete: the response streams from the open file, and its
//! space is freed when the file is closed (the response sent, or the
//! client gone). A file left by a crash while writing is removed at the
//! next start ([`clear_leftovers`]); removing a file another process is
//! still writing does not disturb that process (it holds the file open).

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use tempfile::TempPath;

use crate::sheets::write::{Cell, SheetFormat, TableSpec, TableWriter, WriteError};

/// The folder of exports being written, inside the data folder.
pub fn folder(data_dir: &Path) -> PathBuf {
    data_dir.join(".exports")
}

/// A finished export: an open file, already removed from the folder,
/// positioned at its start, and its length.
#[derive(Debug)]
pub struct Spooled {
    pub file: File,
    pub len: u64,
}

/// A sheet being written into a file of the export folder. Dropped
/// unfinished (an error, a refused filter), the file is removed.
pub struct SheetFile {
    writer: TableWriter<BufWriter<File>>,
    path: TempPath,
}

impl SheetFile {
    /// Starts a sheet (its title and header row) in a new file.
    pub fn create(data_dir: &Path, format: SheetFormat, spec: TableSpec) -> Result<SheetFile, WriteError> {
        let dir = folder(data_dir);
        std::fs::create_dir_all(&dir)?;
        let (file, path) = tempfile::Builder::new()
            .prefix("export-")
            .tempfile_in(&dir)?
            .into_parts();
        let out = BufWriter::with_capacity(256 * 1024, file);
        let writer = TableWriter::with_output(format, spec, out, Some(&dir))?;
        Ok(SheetFile { writer, path })
    }

    /// Appends a data row (see [`TableWriter::push`]).
    pub fn push(&mut self, cells: &[Cell], marked: bool) -> Result<(), WriteError> {
        self.writer.push(cells, marked)
    }

    /// Finishes the sheet, removes the file from the folder and returns it
    /// open for reading.
    pub fn finish(self) -> Result<Spooled, WriteError> {
        let out = self.writer.finish_output()?;
        let mut file = out.into_inner().map_err(|e| WriteError::Io(e.into_error()))?;
        let len = file.seek(SeekFrom::End(0))?;
        file.seek(SeekFrom::Start(0))?;
        // The open file stays readable; the name goes now (unless another
        // process starting on the same data folder took it already).
        match self.path.close() {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        Ok(Spooled { file, len })
    }
}

/// Removes the files a previous run left in the export folder (a crash
/// while writing one); how many. No folder, nothing to do.
pub fn clear_leftovers(data_dir: &Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(folder(data_dir)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::sheets::write::{Column, ColumnKind};

    fn spec() -> TableSpec {
        TableSpec {
            sheet_name: "t".into(),
            title: None,
            mark_header: None,
            columns: vec![Column::new("名称", 10.0, ColumnKind::Text)],
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        std::fs::read_dir(folder(dir))
            .map(|d| {
                d.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn a_finished_sheet_is_read_from_a_file_no_longer_in_the_folder() {
        let data = tempfile::tempdir().expect("data dir");
        let mut sheet = SheetFile::create(data.path(), SheetFormat::Csv, spec()).expect("create");
        assert_eq!(names(data.path()).len(), 1, "written in the folder");
        sheet.push(&[Cell::Text("一站".into())], false).expect("row");
        let mut done = sheet.finish().expect("finish");
        assert!(names(data.path()).is_empty(), "removed once complete");
        let mut text = String::new();
        done.file.read_to_string(&mut text).expect("read");
        assert_eq!(text, "\u{feff}名称\n一站\n");
        assert_eq!(done.len, text.len() as u64);
    }

    #[test]
    fn an_unfinished_sheet_and_leftovers_are_removed() {
        let data = tempfile::tempdir().expect("data dir");
        drop(SheetFile::create(data.path(), SheetFormat::Xlsx, spec()).expect("create"));
        assert!(names(data.path()).is_empty(), "dropped unfinished");
        std::fs::write(folder(data.path()).join("export-crashed"), b"x").expect("leftover");
        // Removed by another process while being written: still finishes.
        let sheet = SheetFile::create(data.path(), SheetFormat::Xlsx, spec()).expect("create");
        assert_eq!(clear_leftovers(data.path()).expect("clear"), 2);
        assert!(sheet.finish().expect("finish").len > 0);
        assert!(names(data.path()).is_empty());
        assert_eq!(
            clear_leftovers(tempfile::tempdir().expect("dir").path()).expect("no folder"),
            0
        );
    }
}
