//! Programmer errors panic with the op name and shapes; anything read from outside returns a
//! typed error and changes nothing.

use flow_core::io::{Checkpoint, CheckpointError};
use flow_core::nn::{MlpConfig, Module, Param};
use flow_core::{DType, Tensor};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

#[test]
#[should_panic(expected = "matmul: inner dimensions differ for shapes [2, 3] and [2, 3]")]
fn matmul_shape_mismatch_names_op_and_shapes() {
    let a = Tensor::zeros(&[2, 3], DType::F32);
    let _ = a.matmul(&a);
}

#[test]
#[should_panic(expected = "add: shapes [2, 3] and [4] cannot be broadcast together")]
fn add_shape_mismatch_names_op_and_shapes() {
    let _ = Tensor::zeros(&[2, 3], DType::F32).add(&Tensor::zeros(&[4], DType::F32));
}

#[test]
#[should_panic(expected = "mul: dtype mismatch (f32 vs f64)")]
fn dtype_mismatch_names_op() {
    let _ = Tensor::zeros(&[2], DType::F32).mul(&Tensor::zeros(&[2], DType::F64));
}

#[test]
#[should_panic(expected = "concat: shape [2, 4] (f32) does not match [2, 3] (f32) off axis 0")]
fn concat_mismatch_names_shapes() {
    let a = Tensor::zeros(&[2, 3], DType::F32);
    let _ = Tensor::concat(&[&a, &Tensor::zeros(&[2, 4], DType::F32)], 0);
}

#[test]
#[should_panic(expected = "Linear: input [5, 3] does not end in 2 features")]
fn linear_input_mismatch() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let net = MlpConfig::new(2, &[4], 1).build("net", DType::F32, &mut rng);
    let _ = net.forward(&Tensor::zeros(&[5, 3], DType::F32));
}

fn model() -> (Vec<Param>, Vec<Vec<f64>>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let net = MlpConfig::new(2, &[4], 1).build("net", DType::F32, &mut rng);
    let params = net.parameters();
    let before = params.iter().map(|p| p.get().to_vec_f64()).collect();
    (params, before)
}

fn unchanged(params: &[Param], before: &[Vec<f64>]) -> bool {
    params
        .iter()
        .zip(before)
        .all(|(p, b)| &p.get().to_vec_f64() == b)
}

#[test]
fn corrupt_and_truncated_checkpoints_give_format_errors() {
    let (params, _) = model();
    let bytes = Checkpoint::from_params(&params).to_bytes();
    for bad in [
        &bytes[..bytes.len() / 2],
        &bytes[..5],
        b"not a checkpoint at all".as_slice(),
    ] {
        match Checkpoint::from_bytes(bad, "model.safetensors") {
            Err(CheckpointError::Format { path, .. }) => {
                assert_eq!(path.to_str(), Some("model.safetensors"))
            }
            other => panic!("expected a format error, got {other:?}"),
        }
    }
    let mut garbled = bytes.clone();
    garbled[10] = b'{';
    assert!(Checkpoint::from_bytes(&garbled, "x").is_err());
}

#[test]
fn mismatched_checkpoint_names_the_parameter_and_changes_nothing() {
    let (params, before) = model();
    let mut ck = Checkpoint::from_params(&params);
    ck.insert("net.layers.1.weight", Tensor::zeros(&[1, 5], DType::F32));
    let err = ck.restore_params(&params).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tensor `net.layers.1.weight`: checkpoint shape [1, 5] differs from the model's [1, 4]"
    );
    assert!(unchanged(&params, &before));

    let mut ck = Checkpoint::from_params(&params);
    ck.insert("net.layers.0.bias", Tensor::zeros(&[4], DType::F64));
    assert!(matches!(
        ck.restore_params(&params),
        Err(CheckpointError::DtypeMismatch { .. })
    ));

    let mut ck = Checkpoint::from_params(&params);
    ck.insert(
        "net.layers.0.bias",
        Tensor::full(&[4], f64::NAN, DType::F32),
    );
    assert!(
        matches!(ck.restore_params(&params), Err(CheckpointError::NonFinite { name }) if name == "net.layers.0.bias")
    );

    let empty = Checkpoint::new();
    assert_eq!(
        empty.restore_params(&params).unwrap_err().to_string(),
        "checkpoint has no tensor named `net.layers.0.weight`"
    );
    assert!(unchanged(&params, &before));
}

#[test]
fn missing_file_is_an_io_error_naming_the_path() {
    let err = Checkpoint::load("/nonexistent/dir/model.safetensors").unwrap_err();
    assert!(matches!(err, CheckpointError::Io { .. }));
    assert!(
        err.to_string()
            .starts_with("/nonexistent/dir/model.safetensors:")
    );
}
