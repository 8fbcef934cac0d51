//! The papers the report covers, in one typed table: title, venue, arXiv id, crate, claims.

use serde::{Deserialize, Serialize};

/// A report page: one of the ten papers, or a sanity page of a foundation crate.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum PaperId {
    /// flow-core sanity page: autodiff against finite differences.
    FlowCore,
    /// flow-data sanity page: toy distributions and their exact densities.
    FlowData,
    /// Free-form Flows (FFF), arXiv 2310.16624.
    FreeFormFlows,
    /// Lifting Architectural Constraints of Injective Flows (FIF), arXiv 2306.01843.
    InjectiveFlows,
    /// Learning Distributions on Manifolds with Free-form Flows (M-FFF), arXiv 2312.09852.
    ManifoldFreeFormFlows,
    /// TRADE, arXiv 2410.19492.
    Trade,
    /// Whitening Convergence Rate of Coupling-based Normalizing Flows, arXiv 2210.14032.
    Whitening,
    /// On the Convergence Rate of Gaussianization with Random Rotations, arXiv 2306.13520.
    Gaussianization,
    /// On the Universality of Volume-Preserving and Coupling-Based Normalizing Flows, 2402.06578.
    Universality,
    /// On the Spectral Bias of Neural Networks, arXiv 1806.08734.
    SpectralBias,
    /// Essentially No Barriers in Neural Network Energy Landscape, arXiv 1803.00885.
    NoBarriers,
    /// Finding Competence Regions in Domain Generalization, arXiv 2303.09989.
    CompetenceRegions,
}

/// What the report says about a paper.
#[derive(Clone, Copy, Debug)]
pub struct PaperInfo {
    /// Which page.
    pub id: PaperId,
    /// File stem of the page and value of `--paper`.
    pub slug: &'static str,
    /// Full title.
    pub title: &'static str,
    /// Venue and year.
    pub venue: &'static str,
    /// arXiv id, if any.
    pub arxiv: Option<&'static str>,
    /// The workspace crate that implements it.
    pub krate: &'static str,
    /// Implementation note under `shared/papers/`.
    pub note: &'static str,
    /// Headline claims, as the notes state them.
    pub claims: &'static [&'static str],
}

impl PaperId {
    /// Every page, in report order.
    pub const ALL: [PaperId; 12] = [
        PaperId::FlowCore,
        PaperId::FlowData,
        PaperId::FreeFormFlows,
        PaperId::InjectiveFlows,
        PaperId::ManifoldFreeFormFlows,
        PaperId::Trade,
        PaperId::Whitening,
        PaperId::Gaussianization,
        PaperId::Universality,
        PaperId::SpectralBias,
        PaperId::NoBarriers,
        PaperId::CompetenceRegions,
    ];

    /// The paper's metadata.
    pub fn info(self) -> &'static PaperInfo {
        PAPERS
            .iter()
            .find(|p| p.id == self)
            .expect("every PaperId has a PAPERS entry")
    }
}

/// The table of pages (order of [`PaperId::ALL`]).
pub static PAPERS: [PaperInfo; 12] = [
    PaperInfo {
        id: PaperId::FlowCore,
        slug: "flow-core",
        title: "flow-core: autodiff sanity checks",
        venue: "workspace crate",
        arxiv: None,
        krate: "flow-core",
        note: "DESIGN.md",
        claims: &[
            "Reverse-mode gradients, forward-mode JVPs and Hessian-vector products agree with f64 central finite differences.",
        ],
    },
    PaperInfo {
        id: PaperId::FlowData,
        slug: "flow-data",
        title: "flow-data: toy 2-D distributions",
        venue: "workspace crate",
        arxiv: None,
        krate: "flow-data",
        note: "boltzmann-targets.md",
        claims: &[
            "The toy samplers draw from the distributions whose exact densities flow-data evaluates; each density integrates to one.",
        ],
    },
    PaperInfo {
        id: PaperId::FreeFormFlows,
        slug: "free-form-flows",
        title: "Free-form Flows: Make Any Architecture a Normalizing Flow",
        venue: "AISTATS 2024 (PMLR 238)",
        arxiv: Some("2310.16624"),
        krate: "flow-freeform",
        note: "free-form-flows.md",
        claims: &[
            "Any dimension-preserving network trains as a flow by maximum likelihood [abstract].",
            "The surrogate vᵀ J_f(x) · sg(J_g(z) v) gives an unbiased estimate of ∇θ log|det J_f| when g = f⁻¹ (Hutchinson).",
            "E(3)-FFF reaches NLL on par with equivariant CNFs on DW4/LJ13 and samples about two orders of magnitude faster [unconfirmed numbers].",
        ],
    },
    PaperInfo {
        id: PaperId::InjectiveFlows,
        slug: "injective-flows",
        title: "Lifting Architectural Constraints of Injective Flows",
        venue: "ICLR 2024",
        arxiv: Some("2306.01843"),
        krate: "flow-freeform",
        note: "free-form-flows.md",
        claims: &[
            "Free-form injective flows cost roughly 2× a vanilla autoencoder per batch, independent of the latent dimension [abstract].",
            "The encoder-at-x objective stays stable where naive maximum likelihood on a learned manifold diverges [abstract].",
        ],
    },
    PaperInfo {
        id: PaperId::ManifoldFreeFormFlows,
        slug: "manifold-free-form-flows",
        title: "Learning Distributions on Manifolds with Free-form Flows",
        venue: "NeurIPS 2024",
        arxiv: Some("2312.09852"),
        krate: "flow-manifold",
        note: "manifold-free-form-flows.md",
        claims: &[
            "Sampling needs one network evaluation plus one projection [abstract].",
            "Competitive with multi-step methods at typically two orders of magnitude faster inference [abstract].",
        ],
    },
    PaperInfo {
        id: PaperId::Trade,
        slug: "trade",
        title: "TRADE: Transfer of Distributions between External Conditions with Normalizing Flows",
        venue: "likely AISTATS 2025 (unconfirmed)",
        arxiv: Some("2410.19492"),
        krate: "flow-trade",
        note: "trade.md",
        claims: &[
            "TRADE learns parameter-dependent distributions without restricted architectures or unstable energy-based training [abstract].",
        ],
    },
    PaperInfo {
        id: PaperId::Whitening,
        slug: "whitening",
        title: "Whitening Convergence Rate of Coupling-based Normalizing Flows",
        venue: "NeurIPS 2022",
        arxiv: Some("2210.14032"),
        krate: "flow-theory",
        note: "theory.md",
        claims: &[
            "Coupling blocks whiten the data: the non-standardness S decays geometrically in depth at a nearly dimension-free per-block rate ρ_A.",
        ],
    },
    PaperInfo {
        id: PaperId::Gaussianization,
        slug: "gaussianization",
        title: "On the Convergence Rate of Gaussianization with Random Rotations",
        venue: "ICML 2023",
        arxiv: Some("2306.13520"),
        krate: "flow-theory",
        note: "theory.md",
        claims: &[
            "Gaussianization with random rotations needs a number of layers linear in D: the per-layer contraction is 1 − 2/(D+2).",
        ],
    },
    PaperInfo {
        id: PaperId::Universality,
        slug: "universality",
        title: "On the Universality of Volume-Preserving and Coupling-Based Normalizing Flows",
        venue: "ICML 2024 (PMLR 235)",
        arxiv: Some("2402.06578"),
        krate: "flow-theory",
        note: "theory.md",
        claims: &[
            "Constant-Jacobian flows are not universal: their KL has an analytic floor (1 − ln 2 nats on the uniform square).",
            "Well-conditioned affine couplings are distributionally universal.",
        ],
    },
    PaperInfo {
        id: PaperId::SpectralBias,
        slug: "spectral-bias",
        title: "On the Spectral Bias of Neural Networks",
        venue: "ICML 2019 (PMLR 97)",
        arxiv: Some("1806.08734"),
        krate: "flow-theory",
        note: "theory.md",
        claims: &[
            "ReLU networks learn low frequencies first; high frequencies along a curve get easier to learn as the curve becomes more complex.",
        ],
    },
    PaperInfo {
        id: PaperId::NoBarriers,
        slug: "no-barriers",
        title: "Essentially No Barriers in Neural Network Energy Landscape",
        venue: "ICML 2018 (PMLR 80)",
        arxiv: Some("1803.00885"),
        krate: "flow-landscape",
        note: "landscape.md",
        claims: &[
            "Paths between independently trained minima are essentially flat in train and test loss [abstract].",
            "Each minimum has at least one vanishing Hessian eigenvalue beyond those from trivial invariances [abstract].",
        ],
    },
    PaperInfo {
        id: PaperId::CompetenceRegions,
        slug: "competence-regions",
        title: "Finding Competence Regions in Domain Generalization",
        venue: "TMLR 06/2023",
        arxiv: Some("2303.09989"),
        krate: "flow-reject",
        note: "competence-regions.md",
        claims: &[
            "Higher incompetence scores predict lower accuracy, giving significant gains below a suitable threshold [abstract].",
            "The scores are not yet good enough for a favourable accuracy/rejection trade-off in all domains [abstract].",
            "The representation matters, in the closed and in the open world (unknown classes in the target) [abstract].",
            "DG algorithms do not outperform ERM inside the competence region [abstract].",
        ],
    },
];
