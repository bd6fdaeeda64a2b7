//! Whisper models: where they live, importing CTranslate2 models (faster-whisper's format) into
//! whisper.cpp's ggml format, and downloading published ggml files.

pub mod check;
pub mod ct2;
pub mod ggml;
pub mod install;
pub mod mel;
