//! Everything at once, into one directory.

use std::io;
use std::path::{Path, PathBuf};

use super::{
    grid_to_json, render_equity_png, render_heatmap_png, render_html, text_summary, to_json,
    to_pretty_string, write_file, GridReport, RunReport, DEFAULT_EQUITY_SIZE,
};

/// Writes `summary.txt`, `result.json`, `equity.png`, `report.html` and, with a grid,
/// `heatmap.png` and `grid.json` into `dir` (created if missing; existing files of these
/// names are replaced). Returns the paths written, in that order.
///
/// Errors name the file (or directory) that failed. Everything is rendered before the
/// first file is written, so a drawing error leaves no half-written report behind.
pub fn write_report_dir(
    dir: impl AsRef<Path>,
    report: &RunReport,
    grid: Option<&GridReport>,
) -> io::Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    let json = |v: serde_json::Value| to_pretty_string(&v).into_bytes();
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        ("summary.txt", text_summary(report).into_bytes()),
        ("result.json", json(to_json(report))),
        (
            "equity.png",
            render_equity_png(report, DEFAULT_EQUITY_SIZE)
                .map_err(|e| super::io_error_at(&dir.join("equity.png"), e))?,
        ),
        ("report.html", render_html(report, grid).into_bytes()),
    ];
    if let Some(grid) = grid {
        files.push((
            "heatmap.png",
            render_heatmap_png(grid)
                .map_err(|e| super::io_error_at(&dir.join("heatmap.png"), e))?,
        ));
        files.push(("grid.json", json(grid_to_json(grid))));
    }

    std::fs::create_dir_all(dir).map_err(|e| super::io_error_at(dir, e))?;
    let mut written = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        let path = dir.join(name);
        write_file(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}
