//! The one list of experiments. A crate's issue adds its experiments here (see the crate docs).

use crate::error::BenchError;
use crate::experiment::Experiment;
use crate::experiments;
use crate::paper::PaperId;

/// Every registered experiment, in report order within each paper.
pub fn registry() -> Vec<Box<dyn Experiment>> {
    vec![
        Box::new(experiments::flow_core::GradCheck),
        Box::new(experiments::flow_data::DataGallery),
        Box::new(experiments::free_form::LinearHutchinson),
        Box::new(experiments::free_form::FffToys),
        Box::new(experiments::free_form::EgnnBoltzmann),
        Box::new(experiments::free_form::SbiC2st),
        Box::new(experiments::injective::FifManifolds),
        Box::new(experiments::injective::FifNaiveVsStable),
        Box::new(experiments::injective::FffStepTime),
        Box::new(experiments::universality::CouplingToyFits),
        Box::new(experiments::trade::reverse_kl::CouplingReverseKl),
        Box::new(experiments::manifold::MfffVmfSphere),
        Box::new(experiments::manifold::MfffEarth),
        Box::new(experiments::manifold::MfffSo3),
        Box::new(experiments::manifold::MfffTorus),
        Box::new(experiments::manifold::MfffPoincare),
        Box::new(experiments::trade::TradeDoubleWell),
        Box::new(experiments::trade::TradeGmm6),
        Box::new(experiments::trade::TradeMultiWell),
        Box::new(experiments::trade::TradePhi4),
        Box::new(experiments::trade::TradeTwoMoons),
        Box::new(experiments::theory::WhiteningDepth),
        Box::new(experiments::theory::GaussianizationLayers),
        Box::new(experiments::universality::VolumePreservingFloor),
        Box::new(experiments::theory::SpectralBiasExperiment),
        Box::new(experiments::landscape::AnalyticSaddles),
        Box::new(experiments::landscape::DigitsPaths),
        Box::new(experiments::reject::RejectRotatedDigits),
        Box::new(experiments::reject::RejectDgVsErm),
        Box::new(experiments::reject::RejectOpenWorld),
    ]
}

/// The experiments selected by `--paper` and `--experiment` (their union; everything when
/// both are empty), in registry order.
///
/// # Errors
/// [`BenchError::UnknownExperiment`] for a name the registry does not hold;
/// [`BenchError::EmptySelection`] when the papers named have no experiments yet.
pub fn select<'a>(
    registry: &'a [Box<dyn Experiment>],
    papers: &[PaperId],
    names: &[String],
) -> Result<Vec<&'a dyn Experiment>, BenchError> {
    for name in names {
        if !registry.iter().any(|e| e.id() == name) {
            let known: Vec<&str> = registry.iter().map(|e| e.id()).collect();
            return Err(BenchError::UnknownExperiment {
                name: name.clone(),
                known: known.join(", "),
            });
        }
    }
    let everything = papers.is_empty() && names.is_empty();
    let chosen: Vec<&dyn Experiment> = registry
        .iter()
        .filter(|e| everything || papers.contains(&e.paper()) || names.iter().any(|n| n == e.id()))
        .map(|e| e.as_ref())
        .collect();
    if chosen.is_empty() {
        let slugs: Vec<&str> = papers.iter().map(|p| p.info().slug).collect();
        return Err(BenchError::EmptySelection(format!(
            "papers: {}",
            slugs.join(", ")
        )));
    }
    Ok(chosen)
}
