//! Digits loading, typed errors, splits, transforms and rotations.

mod common;

use std::io::Write;
use std::path::Path;

use common::rng;
use flow_core::{DType, Tensor};
use flow_data::DataError;
use flow_data::digits::*;

fn row(values: &[&str]) -> String {
    values.join(",")
}

fn good_row() -> String {
    let mut v = vec!["0"; 64];
    v[10] = "16";
    v.push("7");
    row(&v)
}

#[test]
fn vendored_file_loads() {
    let d = Digits::vendored();
    assert_eq!(d.len(), ROWS);
    let mut per_class = [0usize; 10];
    d.labels.iter().for_each(|&l| per_class[l as usize] += 1);
    // UCI test set: between 174 and 183 images per class.
    assert!(
        per_class.iter().all(|&c| (174..=183).contains(&c)),
        "{per_class:?}"
    );
    let from_disk =
        Digits::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits.csv.gz")).unwrap();
    assert_eq!(from_disk, d);
    let img = d.images().to_vec_f64();
    assert!(img.iter().all(|v| (0.0..=1.0).contains(v)) && img.contains(&1.0));
}

#[test]
fn bad_input_gives_typed_errors_with_file_line_and_problem() {
    let name = Path::new("bad.csv");
    let parse = |text: String| Digits::parse_csv(text.as_bytes(), name).unwrap_err();
    let two = |second: String| format!("{}\n{}\n", good_row(), second);

    let mut short = vec!["1"; 64];
    short.truncate(63);
    match parse(two(row(&short))) {
        DataError::WrongDimension {
            line: 2,
            expected: 65,
            found: 63,
            ..
        } => {}
        e => panic!("{e}"),
    }
    let mut text = vec!["1"; 65];
    text[5] = "abc";
    let e = parse(two(row(&text)));
    assert!(
        matches!(
            e,
            DataError::Parse {
                line: 2,
                field: 6,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "bad.csv, line 2, field 6: cannot parse \"abc\" as a number"
    );
    let mut nan = vec!["1"; 65];
    nan[3] = "NaN";
    assert!(matches!(
        parse(two(row(&nan))),
        DataError::NotFinite {
            line: 2,
            field: 4,
            ..
        }
    ));
    let mut big = vec!["1"; 65];
    big[0] = "17";
    assert!(matches!(
        parse(two(row(&big))),
        DataError::OutOfRange {
            line: 2,
            field: 1,
            ..
        }
    ));
    let mut frac = vec!["1"; 65];
    frac[64] = "2.5";
    assert!(matches!(
        parse(two(row(&frac))),
        DataError::OutOfRange {
            line: 2,
            field: 65,
            ..
        }
    ));

    // A truncated gzip stream: a read error naming the line where it broke off.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for _ in 0..200 {
        writeln!(enc, "{}", good_row()).unwrap();
    }
    let bytes = enc.finish().unwrap();
    let cut = &bytes[..bytes.len() / 2];
    match Digits::parse_gz(cut, Path::new("cut.csv.gz")).unwrap_err() {
        e @ DataError::Read { line, .. } => {
            assert!(line > 1 && line <= 201, "{line}");
            assert!(e.to_string().starts_with("cut.csv.gz, line "), "{e}");
        }
        e => panic!("{e}"),
    }
    assert_eq!(
        Digits::parse_gz(&bytes[..], Path::new("ok.gz"))
            .unwrap()
            .len(),
        200
    );
    // A missing file.
    let e = Digits::load("/nonexistent/digits.csv.gz").unwrap_err();
    assert!(
        matches!(e, DataError::Open { .. }) && e.to_string().contains("/nonexistent/digits.csv.gz")
    );
}

#[test]
fn splits_are_disjoint_complete_and_seeded() {
    let d = Digits::vendored();
    let s = d.standard_split();
    assert_eq!((s.train.len(), s.val.len(), s.test.len()), (1000, 300, 497));
    // Complete and disjoint: the multiset of rows is preserved.
    let key = |x: &Digits| {
        let mut rows: Vec<Vec<u64>> = x
            .counts
            .chunks(64)
            .zip(&x.labels)
            .map(|(r, l)| r.iter().map(|v| *v as u64).chain([*l as u64]).collect())
            .collect();
        rows.sort();
        rows
    };
    let mut all = key(&s.train);
    all.extend(key(&s.val));
    all.extend(key(&s.test));
    all.sort();
    assert_eq!(all, key(&d));
    assert_eq!(d.split(1000, 300, 0).train, s.train);
    assert_ne!(d.split(1000, 300, 1).train, s.train);
}

#[test]
fn dequantisation_and_standardisation() {
    let d = Digits::vendored().subset(&(0..200).collect::<Vec<_>>());
    let x = dequantize(&d, DType::F64, &mut rng(1)).to_vec_f64();
    for (xv, k) in x.iter().zip(&d.counts) {
        assert!(*xv >= k / 17.0 && *xv < (k + 1.0) / 17.0);
    }
    let xt = Tensor::from_vec(x, &[200, 64]);
    let st = Standardizer::fit(&xt);
    let z = st.transform(&xt);
    let (m, v) = (
        z.mean_axis(0, false).to_vec_f64(),
        z.var_axis(0, false).to_vec_f64(),
    );
    for k in 0..64 {
        assert!(m[k].abs() < 1e-10, "mean {k}");
        // Dequantised pixels always vary (noise of variance 1/(12·17²)).
        assert!((v[k] - 1.0).abs() < 1e-10, "var {k}: {}", v[k]);
    }
    let back = st.inverse(&z).to_vec_f64();
    assert!(
        back.iter()
            .zip(xt.to_vec_f64())
            .all(|(a, b)| (a - b).abs() < 1e-12)
    );
}

#[test]
fn rotations() {
    let d = Digits::vendored().subset(&[0, 1, 2, 3]);
    let x = d.images();
    let v = x.to_vec_f64();
    assert_eq!(rotate_images(&x, 0.0).to_vec_f64(), v);
    // 90° is numpy.rot90: out[i][j] = in[j][7 − i]; four of them are the identity.
    let r = rotate_images(&x, 90.0).to_vec_f64();
    for s in 0..4 {
        for i in 0..8 {
            for j in 0..8 {
                assert!((r[s * 64 + i * 8 + j] - v[s * 64 + j * 8 + 7 - i]).abs() < 1e-12);
            }
        }
    }
    let mut y = x.clone();
    for _ in 0..4 {
        y = rotate_images(&y, 90.0);
    }
    assert!(
        y.to_vec_f64()
            .iter()
            .zip(&v)
            .all(|(a, b)| (a - b).abs() < 1e-12)
    );
    // A constant image stays constant where all four bilinear neighbours are inside
    // (the central 4×4 block for 45°), and values stay in [0, 1].
    let ones = Tensor::ones(&[1, 64], DType::F64);
    let r45 = rotate_images(&ones, 45.0).to_vec_f64();
    for i in 2..6 {
        for j in 2..6 {
            assert!((r45[i * 8 + j] - 1.0).abs() < 1e-12);
        }
    }
    assert!(r45.iter().all(|p| (0.0..=1.0).contains(p)));
    // Bilinear interpolation is exact for linear images: rotating the ramp f(r, c) = 0.1r +
    // 0.05c by 15° gives f at the rotated source coordinates wherever those lie inside.
    let ramp: Vec<f64> = (0..64)
        .map(|k| 0.1 * (k / 8) as f64 + 0.05 * (k % 8) as f64)
        .collect();
    let out = rotate_images(&Tensor::from_vec(ramp, &[1, 64]), 15.0).to_vec_f64();
    let (s15, c15) = 15f64.to_radians().sin_cos();
    let mut checked = 0;
    for i in 0..8 {
        for j in 0..8 {
            let (xx, yy) = (j as f64 - 3.5, i as f64 - 3.5);
            let (r, c) = (s15 * xx + c15 * yy + 3.5, c15 * xx - s15 * yy + 3.5);
            if (0.0..=7.0).contains(&r) && (0.0..=7.0).contains(&c) {
                assert!(
                    (out[i * 8 + j] - (0.1 * r + 0.05 * c)).abs() < 1e-12,
                    "pixel ({i}, {j})"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 30, "{checked}");
}

#[test]
fn domain_shift_builder() {
    let s = Digits::vendored().standard_split();
    let ds = DomainShift::standard(&s);
    assert_eq!(ds.source_train.images.shape(), &[3000, 64]);
    assert_eq!(ds.source_val.labels.len(), 900);
    assert_eq!(ds.id_test.images.dim(0), 3 * 497);
    assert_eq!(
        ds.targets.iter().map(|t| t.degrees).collect::<Vec<_>>(),
        vec![30.0, 45.0, 60.0, 90.0]
    );
    // The 0° block of the source training set is the plain training images.
    let zero = ds.source_train.images.narrow(0, 1000, 1000).to_vec_f64();
    assert_eq!(zero, s.train.images().to_vec_f64());
}
