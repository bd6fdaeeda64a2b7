//! Finding and loading the ONNX Runtime shared library that Silero VAD runs on.
//!
//! `ort` is built with `load-dynamic` (its build-time download is not reachable offline), so the
//! library is loaded at run time. Search order, first match wins:
//! 1. `$ORT_DYLIB_PATH` (a file),
//! 2. `onnxruntime/libonnxruntime.so*` in each model folder (see [`crate::paths::model_dirs`]);
//!    `make setup` puts the library from PyPI's `onnxruntime==1.22.1` wheel there,
//! 3. `libonnxruntime.so*` next to the executable,
//! 4. the system library folders.

use std::path::{Path, PathBuf};

/// The ONNX Runtime minor version `ort 2.0.0-rc.10` speaks (API 22).
pub const ORT_VERSION: &str = "1.22";

#[derive(Debug, thiserror::Error)]
pub enum OrtError {
    #[error(
        "ONNX Runtime (libonnxruntime.so {ORT_VERSION}.x, needed for the Silero VAD) not found in {searched}; run `make setup`, or set ORT_DYLIB_PATH to the library (it ships in PyPI's onnxruntime=={ORT_VERSION}.1 wheel as onnxruntime/capi/libonnxruntime.so.{ORT_VERSION}.1)"
    )]
    NotFound { searched: String },
    #[error("ORT_DYLIB_PATH points to '{0}', which does not exist")]
    BadEnv(PathBuf),
    #[error("cannot load ONNX Runtime from '{path}': {reason}")]
    Load { path: PathBuf, reason: String },
}

fn find_in(dir: &Path) -> Option<PathBuf> {
    let mut hits: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so"))
                && p.is_file()
        })
        .collect();
    // Prefer the versioned file we ship ("libonnxruntime.so.1.22.1") over other versions.
    hits.sort_by_key(|p| !p.to_string_lossy().contains(&format!(".so.{ORT_VERSION}")));
    hits.into_iter().next()
}

/// The folders searched, in order.
pub fn search_dirs(models_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = crate::paths::model_dirs(models_dir)
        .into_iter()
        .map(|d| d.join("onnxruntime"))
        .collect();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir);
    }
    for sys in [
        "/usr/local/lib",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
    ] {
        dirs.push(PathBuf::from(sys));
    }
    dirs
}

/// Finds the library without loading it.
pub fn locate(models_dir: Option<&Path>) -> Result<PathBuf, OrtError> {
    if let Some(env) = std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(env);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(OrtError::BadEnv(p))
        };
    }
    let dirs = search_dirs(models_dir);
    for d in &dirs {
        if let Some(p) = find_in(d) {
            return Ok(p);
        }
    }
    let searched = dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(OrtError::NotFound { searched })
}

/// Locates the library, checks that it loads and exports ONNX Runtime's entry point, and hands
/// it to `ort`. Safe to call more than once (later calls are no-ops for `ort`).
pub fn init(models_dir: Option<&Path>) -> Result<PathBuf, OrtError> {
    let path = locate(models_dir)?;
    check_loadable(&path)?;
    let _ = ort::init_from(path.to_string_lossy()).commit();
    Ok(path)
}

/// dlopen + dlsym("OrtGetApiBase"): `ort` panics when either fails, so check first and give a
/// message instead.
fn check_loadable(path: &Path) -> Result<(), OrtError> {
    use std::ffi::{CStr, CString};
    let err = |reason: String| OrtError::Load {
        path: path.into(),
        reason,
    };
    let c = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| err(e.to_string()))?;
    // SAFETY: dlopen/dlsym/dlerror with valid C strings; the handle is intentionally kept
    // open (ort opens the same library again and it must stay loaded for the process).
    unsafe {
        let handle = libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
        if handle.is_null() {
            let msg = libc::dlerror();
            let reason = if msg.is_null() {
                "dlopen failed".to_string()
            } else {
                CStr::from_ptr(msg).to_string_lossy().into_owned()
            };
            return Err(err(reason));
        }
        let sym = libc::dlsym(handle, c"OrtGetApiBase".as_ptr());
        if sym.is_null() {
            return Err(err(
                "it does not export OrtGetApiBase (not an ONNX Runtime library?)".into(),
            ));
        }
    }
    Ok(())
}
