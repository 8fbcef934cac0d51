//! Checkpoints load in the Python ecosystem (needs `python3` with `safetensors` and `numpy`;
//! `#[ignore]`d so CI does not need them): `cargo test -p flow-core --test interop -- --ignored`.

use flow_core::io::Checkpoint;
use flow_core::nn::{MlpConfig, Module};
use flow_core::{DType, Tensor};
use rand::SeedableRng;

#[test]
#[ignore = "needs python3 with safetensors and numpy"]
fn checkpoint_loads_in_python_safetensors_with_pytorch_layout() {
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
    let net = MlpConfig::new(3, &[5], 2).build("net", DType::F32, &mut rng);
    let x = Tensor::randn(&[4, 3], DType::F32, &mut rng);
    let y = net.forward(&x);
    let dir = std::env::temp_dir().join(format!("flow-core-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("net.safetensors");
    let mut ck = Checkpoint::from_params(&net.parameters());
    ck.insert("x", x);
    ck.insert("y", y);
    ck.save(&path).unwrap();
    // PyTorch's nn.Linear convention: y = x Wᵀ + b with W of shape [out, in].
    let script = format!(
        "from safetensors.numpy import load_file\nimport numpy as np\nt = load_file({:?})\n\
         h = t['x'] @ t['net.layers.0.weight'].T + t['net.layers.0.bias']\nh = h / (1 + np.exp(-h))\n\
         out = h @ t['net.layers.1.weight'].T + t['net.layers.1.bias']\n\
         assert t['net.layers.0.weight'].shape == (5, 3)\nassert np.allclose(out, t['y'], atol=1e-5), (out, t['y'])\nprint('ok')",
        path.to_str().unwrap()
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("python3");
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
