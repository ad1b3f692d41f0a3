//! The configuration file's part in building a pipeline, with or without feature `config-file`
//! (without it, naming a file is an error that says how to enable it).

use std::path::{Path, PathBuf};

use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::{Instrument, MeterProviderBuilder};

use crate::{BuildError, Catalog, Env};

/// The variable naming the configuration file.
use crate::config::env::CONFIG_FILE_VAR;

#[cfg(feature = "config-file")]
pub(crate) type File = std::sync::Arc<crate::config::ConfigFile>;

/// No file can be loaded without the feature.
#[cfg(not(feature = "config-file"))]
#[derive(Debug)]
pub(crate) enum File {}

/// The file `path` (else `OTEL_CONFIG_FILE`) names, loaded and checked.
pub(crate) fn load(path: Option<&Path>, env: &Env) -> Result<Option<File>, BuildError> {
    let Some(path) = path.map(Path::to_path_buf).or_else(|| env.get(CONFIG_FILE_VAR).map(PathBuf::from)) else { return Ok(None) };
    #[cfg(feature = "config-file")]
    {
        crate::config::ConfigFile::from_path(&path, env).map(|file| Some(std::sync::Arc::new(file)))
    }
    #[cfg(not(feature = "config-file"))]
    {
        Err(BuildError::Config {
            location: path.display().to_string(),
            message: format!(
                "a configuration file is given ({CONFIG_FILE_VAR} or `config_file`), but otel-core is built without its \
                 `config-file` feature: enable otel-exporters' feature `config-file` or unset {CONFIG_FILE_VAR}"
            ),
        })
    }
}

pub(crate) fn resource_attributes(file: &File) -> Result<Vec<KeyValue>, BuildError> {
    #[cfg(feature = "config-file")]
    return file.resource_attributes();
    #[cfg(not(feature = "config-file"))]
    match *file {}
}

pub(crate) fn schema_url(file: &File) -> Option<String> {
    #[cfg(feature = "config-file")]
    return file.model().resource.as_ref().and_then(|r| r.schema_url.clone());
    #[cfg(not(feature = "config-file"))]
    match *file {}
}

pub(crate) fn disabled(file: Option<&File>) -> bool {
    #[cfg(feature = "config-file")]
    return file.is_some_and(|f| f.disabled());
    #[cfg(not(feature = "config-file"))]
    file.is_some()
}

/// Whether the file shapes streams in the SDK (views, cardinality limits).
pub(crate) fn shapes_streams(file: Option<&File>) -> bool {
    #[cfg(feature = "config-file")]
    return file.is_some_and(|f| !f.views().is_empty() || f.cardinality_limits().is_some());
    #[cfg(not(feature = "config-file"))]
    file.is_some()
}

/// The catalog's view, and the file's views layered over it.
pub(crate) fn add_views(provider: MeterProviderBuilder, file: Option<&File>, catalog: &Catalog) -> MeterProviderBuilder {
    #[cfg(feature = "config-file")]
    if let Some(file) = file {
        let mut provider = provider;
        let views = crate::config::FileViews::new(file, catalog.clone());
        for view in views.each() {
            provider = provider.with_view(view);
        }
        return provider.with_view(views.fallback());
    }
    #[cfg(not(feature = "config-file"))]
    let _ = file;
    let catalog = catalog.clone();
    provider.with_view(move |i: &Instrument| catalog.view(i))
}

/// The exemplar filter the file sets, if any.
pub(crate) fn exemplar_filter(file: Option<&File>) -> Option<crate::ExemplarFilter> {
    #[cfg(feature = "config-file")]
    return file.and_then(|f| f.exemplar_filter());
    #[cfg(not(feature = "config-file"))]
    file.and(None)
}
