//! The station register written as XLSX in constant-memory mode: time, file
//! size and peak resident memory for `BAYIGE_SHEET_ROWS` rows (default
//! 100,000), against the same run's baseline of 1,000 rows.
//!
//! `cargo bench --bench sheets` (release). Peak memory is the process's
//! high-water mark (`VmHWM`), read after each run.

use std::time::Instant;

use bayige::domain::{Category, StationStatus};
use bayige::sheets::stations::{StationRecord, record_cells, table_spec};
use bayige::sheets::write::{SheetFormat, TableWriter};

fn record(n: usize) -> StationRecord {
    StationRecord {
        unit_code: "220602".into(),
        name: format!("白山七天连锁酒店民主路店{n}号12315消费维权服务站"),
        host_business: "七天连锁酒店民主路店".into(),
        credit_code: Some("91220602MA0Y3ABC4X".into()),
        category: Category::Hotel,
        address: format!("白山市民主路{}号", n % 300),
        liaison_name: "王丽".into(),
        liaison_phone: "13943912345".into(),
        standard_id: "baxiangyi-common".into(),
        status: StationStatus::Established,
        established_on: chrono::NaiveDate::from_ymd_opt(2017, 7, 14),
    }
}

fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn write(rows: usize) -> Result<(usize, f64), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mut w = TableWriter::new(SheetFormat::Xlsx, table_spec(None))?;
    for n in 0..rows {
        w.push(&record_cells(&record(n)), n % 7 == 0)?;
    }
    let bytes = w.finish()?;
    Ok((bytes.len(), started.elapsed().as_secs_f64()))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: usize = std::env::var("BAYIGE_SHEET_ROWS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let (base_bytes, base_secs) = write(1_000)?;
    let base_peak = peak_kib();
    let (bytes, secs) = write(rows)?;
    let peak = peak_kib();
    println!("1,000 rows: {base_bytes} bytes in {base_secs:.3} s, peak {base_peak} KiB");
    println!(
        "{rows} rows: {bytes} bytes in {secs:.3} s, peak {peak} KiB ({:.2}× the 1,000-row peak)",
        peak as f64 / base_peak.max(1) as f64
    );
    Ok(())
}
