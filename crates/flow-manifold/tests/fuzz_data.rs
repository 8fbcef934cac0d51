//! Fuzzing of the data loaders (outside input): arbitrary text and arbitrary or mutated file
//! bytes (plain and gzip) never panic; every accepted file gives finite unit vectors, every
//! rejected one a typed error. A bounded number of cases keeps the test run fast.

use std::io::Write;

use flow_manifold::data::{DataError, load_earth_file, parse_rows};
use proptest::prelude::*;

fn check_loaded(result: Result<flow_core::Tensor, DataError>) {
    if let Ok(x) = result {
        assert_eq!(x.shape()[1], 3);
        for row in x.to_vec_f64().chunks(3) {
            let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            assert!(
                (norm - 1.0).abs() < 1e-6,
                "accepted an off-sphere row {row:?}"
            );
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn parse_rows_never_panics(text in ".{0,400}", skip in 0usize..3, width in 1usize..8) {
        if let Ok(rows) = parse_rows(&text, ',', skip, width) {
            prop_assert!(rows.iter().all(|r| r.len() == width && r.iter().all(|v| v.is_finite())));
        }
    }

    #[test]
    fn csv_like_text_loads_or_names_the_row(
        rows in prop::collection::vec((-200.0f64..200.0, -400.0f64..400.0, any::<bool>()), 0..40),
        garbage in prop::option::of("[a-z,;\\.]{1,12}"),
    ) {
        let mut text = String::from("latitude,longitude\n");
        for (i, (lat, lon, nan)) in rows.iter().enumerate() {
            if *nan && i % 7 == 3 {
                text.push_str("NaN,1.0\n");
            } else {
                text.push_str(&format!("{lat},{lon}\n"));
            }
        }
        if let Some(g) = garbage {
            text.push_str(&g);
        }
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [("d.csv", text.clone().into_bytes()), ("d.csv.gz", gzip(text.as_bytes()))] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            check_loaded(load_earth_file(&path));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), flip in any::<usize>()) {
        let dir = tempfile::tempdir().unwrap();
        let mut gz = gzip(b"latitude,longitude\n10.0,20.0\n-5.5,170.25\n");
        let i = flip % gz.len();
        gz[i] ^= 0x5A; // a corrupted gzip stream
        for (name, data) in [("a.csv", bytes.clone()), ("b.csv.gz", bytes), ("c.csv.gz", gz)] {
            let path = dir.path().join(name);
            std::fs::write(&path, data).unwrap();
            check_loaded(load_earth_file(&path));
        }
    }
}
