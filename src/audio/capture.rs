//! Microphone capture with cpal. The callback runs on cpal's real-time thread and must never
//! block, allocate, lock or log: it only converts samples to f32 into a preallocated lock-free
//! SPSC ring (as in cpal's `examples/feedback.rs`) and counts what did not fit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SizedSample};
use ringbuf::HeapRb;
use ringbuf::traits::{Producer, Split};

/// The consumer end the audio thread drains.
pub type RingConsumer = ringbuf::HeapCons<f32>;

/// Seconds of audio the ring holds: the audio thread drains it every few ms, so 2 s only fills
/// if that thread stalls (e.g. a swapping machine), and then samples are counted, not blocked on.
const RING_SECONDS: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(
        "no usable microphone: {0}. Connect one, pick another with `--device NAME` (see `recorder devices`), or play a file with `--input FILE.wav`"
    )]
    NoDevice(String),
    #[error(
        "input device '{0}' not found; `recorder devices` lists the devices (or use `--input FILE.wav`)"
    )]
    UnknownDevice(String),
    #[error("cannot open input device '{name}': {reason}. Try another with `--device NAME`")]
    Open { name: String, reason: String },
}

impl CaptureError {
    /// The reason alone, without the advice on flags (for the TUI's status line, which
    /// gives its own: the device picker).
    pub fn reason(&self) -> String {
        match self {
            CaptureError::NoDevice(why) => why.clone(),
            CaptureError::UnknownDevice(name) => format!("input device '{name}' not found"),
            CaptureError::Open { name, reason } => format!("cannot open '{name}' ({reason})"),
        }
    }
}

/// Counters shared between the callback and the audio thread (atomics: no locks).
#[derive(Debug, Default)]
pub struct CaptureStats {
    /// Callbacks so far; the audio thread watches it to notice a stream that went quiet.
    pub callbacks: AtomicU64,
    /// Samples dropped because the ring was full.
    pub dropped_samples: AtomicU64,
    /// Callbacks in which anything was dropped.
    pub overruns: AtomicU64,
    /// Longest callback in nanoseconds (for the benchmark).
    pub max_callback_ns: AtomicU64,
    /// Buffer over/underruns the backend reported (cpal's `ErrorKind::Xrun`): the device
    /// dropped audio because nobody read it in time, then recovered by itself (ALSA: prepare
    /// and start again). Not a lost device.
    pub xruns: AtomicU64,
}

/// An open input stream. Not `Send` (cpal streams are not on every platform): it lives on the
/// audio thread that opened it.
pub struct Capture {
    _stream: cpal::Stream,
    pub consumer: RingConsumer,
    pub stats: Arc<CaptureStats>,
    /// Stream errors other than xruns, by kind only (no allocation in cpal's thread).
    pub errors: crossbeam_channel::Receiver<cpal::ErrorKind>,
    pub name: String,
    pub sample_rate: u32,
    pub channels: u16,
}

/// One input device as `recorder devices` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    pub id: String,
    pub name: String,
    pub is_default: bool,
    /// Its default config ("48000 Hz, 2 ch, f32") when it can be opened, else why not.
    pub usable: Result<String, String>,
}

/// Lists input devices of the default host; `usable` says whether each can be opened.
/// Probing ALSA's plugins makes some of them (JACK's) print to stderr directly, which would
/// draw over the TUI; stderr is muted while probing.
pub fn list_devices() -> Vec<DeviceInfo> {
    with_stderr_muted(probe_devices)
}

/// Runs `f` with fd 2 pointed at /dev/null, then restores it.
fn with_stderr_muted<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: dup/dup2/close on fd 2 and a fresh /dev/null fd; restored before returning.
    let saved = unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
        let saved = libc::dup(2);
        if null >= 0 && saved >= 0 {
            libc::dup2(null, 2);
        }
        if null >= 0 {
            libc::close(null);
        }
        saved
    };
    let out = f();
    if saved >= 0 {
        // SAFETY: restores the original stderr saved above.
        unsafe {
            libc::dup2(saved, 2);
            libc::close(saved);
        }
    }
    out
}

fn probe_devices() -> Vec<DeviceInfo> {
    let host = cpal::default_host();
    let default_id = host
        .default_input_device()
        .and_then(|d| d.id().ok())
        .map(|i| i.to_string());
    let Ok(devices) = host.input_devices() else {
        return Vec::new();
    };
    let mut devices: Vec<cpal::Device> = devices.collect();
    // ALSA's enumeration lists the plugins but not `default` itself; show it first.
    if let Some(d) = host.default_input_device()
        && !devices
            .iter()
            .any(|x| x.id().ok().map(|i| i.to_string()) == default_id)
    {
        devices.insert(0, d);
    }
    devices
        .into_iter()
        .map(|d| {
            let id = d.id().map(|i| i.to_string()).unwrap_or_default();
            let usable = d
                .default_input_config()
                .map(|c| {
                    format!(
                        "{} Hz, {} ch, {}",
                        c.sample_rate(),
                        c.channels(),
                        c.sample_format()
                    )
                })
                .map_err(|e| e.to_string());
            DeviceInfo {
                is_default: Some(&id) == default_id.as_ref(),
                name: d.to_string(),
                id,
                usable,
            }
        })
        .collect()
}

fn find_device(host: &cpal::Host, wanted: Option<&str>) -> Result<cpal::Device, CaptureError> {
    let Some(wanted) = wanted else {
        return host
            .default_input_device()
            .ok_or_else(|| CaptureError::NoDevice("the system has no default input".into()));
    };
    let devices = host
        .input_devices()
        .map_err(|e| CaptureError::NoDevice(e.to_string()))?;
    let mut fallback = None;
    for d in devices {
        let id = d.id().map(|i| i.to_string()).unwrap_or_default();
        let name = d.to_string();
        // Exact id ("alsa:default") or name first; a unique-looking substring as a convenience.
        if id == wanted || name == wanted || id.split_once(':').is_some_and(|(_, i)| i == wanted) {
            return Ok(d);
        }
        if fallback.is_none() && name.to_lowercase().contains(&wanted.to_lowercase()) {
            fallback = Some(d);
        }
    }
    fallback.ok_or_else(|| CaptureError::UnknownDevice(wanted.to_string()))
}

/// Opens `device` (or the default input) in its default format and starts streaming.
pub fn open(device: Option<&str>) -> Result<Capture, CaptureError> {
    let host = cpal::default_host();
    let dev = find_device(&host, device)?;
    let name = device
        .map(str::to_string)
        .unwrap_or_else(|| dev.to_string());
    // With no device asked for, any failure means "no usable microphone": cpal returns a
    // default ALSA device even on a machine with no card and no sound server.
    let open_err = |e: cpal::Error| match device {
        None => CaptureError::NoDevice(format!("the default input cannot be opened ({e})")),
        Some(_) => CaptureError::Open {
            name: name.clone(),
            reason: e.to_string(),
        },
    };
    let config = dev.default_input_config().map_err(open_err)?;
    let sample_rate = config.sample_rate();
    let channels = config.channels();
    let rb = HeapRb::<f32>::new(sample_rate as usize * channels as usize * RING_SECONDS);
    let (producer, consumer) = rb.split();
    let stats = Arc::new(CaptureStats::default());
    let (err_tx, errors) = crossbeam_channel::bounded(16);
    let err_stats = stats.clone();
    // Runs on cpal's stream thread: a count or a send into a preallocated channel, nothing
    // that allocates or blocks (the error's own text is cpal's, dropped here).
    let err_fn = move |e: cpal::Error| match e.kind() {
        cpal::ErrorKind::Xrun => {
            err_stats.xruns.fetch_add(1, Ordering::Relaxed);
        }
        kind => {
            let _ = err_tx.try_send(kind);
        }
    };
    let cfg: cpal::StreamConfig = config.config();
    let st = stats.clone();
    let stream = match config.sample_format() {
        cpal::SampleFormat::F32 => build::<f32>(&dev, &cfg, producer, st, err_fn),
        cpal::SampleFormat::I16 => build::<i16>(&dev, &cfg, producer, st, err_fn),
        cpal::SampleFormat::U16 => build::<u16>(&dev, &cfg, producer, st, err_fn),
        cpal::SampleFormat::I32 => build::<i32>(&dev, &cfg, producer, st, err_fn),
        cpal::SampleFormat::I8 => build::<i8>(&dev, &cfg, producer, st, err_fn),
        cpal::SampleFormat::U8 => build::<u8>(&dev, &cfg, producer, st, err_fn),
        cpal::SampleFormat::F64 => build::<f64>(&dev, &cfg, producer, st, err_fn),
        other => {
            return Err(CaptureError::Open {
                name,
                reason: format!("unsupported sample format {other}"),
            });
        }
    }
    .map_err(open_err)?;
    stream.play().map_err(open_err)?;
    Ok(Capture {
        _stream: stream,
        consumer,
        stats,
        errors,
        name,
        sample_rate,
        channels,
    })
}

fn build<T>(
    dev: &cpal::Device,
    cfg: &cpal::StreamConfig,
    mut producer: ringbuf::HeapProd<f32>,
    stats: Arc<CaptureStats>,
    err_fn: impl FnMut(cpal::Error) + Send + 'static,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let callback = move |data: &[T], _: &cpal::InputCallbackInfo| {
        let started = std::time::Instant::now();
        // push_iter converts in place: no intermediate buffer, no allocation.
        let pushed = producer.push_iter(data.iter().map(|s| s.to_sample::<f32>()));
        if pushed < data.len() {
            stats
                .dropped_samples
                .fetch_add((data.len() - pushed) as u64, Ordering::Relaxed);
            stats.overruns.fetch_add(1, Ordering::Relaxed);
        }
        stats.callbacks.fetch_add(1, Ordering::Release);
        let ns = started.elapsed().as_nanos() as u64;
        stats.max_callback_ns.fetch_max(ns, Ordering::Relaxed);
    };
    dev.build_input_stream::<T, _, _>(*cfg, callback, err_fn, None)
}

/// alsa-lib prints its own errors to stderr ("ALSA lib pcm.c:2666: Unknown PCM default"),
/// which would draw over the TUI and bury our one-line errors. Route them to the log instead.
pub fn quiet_alsa_errors() {
    use std::ffi::{CStr, c_char, c_int};
    // alsa-lib's handler is variadic; this one reads only the fixed arguments, which the
    // x86-64 and AArch64 Linux calling conventions pass identically for both kinds of function.
    unsafe extern "C" fn to_log(
        file: *const c_char,
        line: c_int,
        function: *const c_char,
        err: c_int,
        _fmt: *const c_char,
    ) {
        let text = |p: *const c_char| {
            if p.is_null() {
                String::new()
            } else {
                // SAFETY: alsa-lib passes NUL-terminated static strings.
                unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
            }
        };
        tracing::debug!(target: "alsa", "{}:{line} {} (error {err})", text(file), text(function));
    }
    type Plain = unsafe extern "C" fn(*const c_char, c_int, *const c_char, c_int, *const c_char);
    type Variadic =
        unsafe extern "C" fn(*const c_char, c_int, *const c_char, c_int, *const c_char, ...);
    // SAFETY: see above; the handler never unwinds and touches no ALSA state.
    unsafe {
        let handler: alsa_sys::snd_lib_error_handler_t =
            Some(std::mem::transmute::<Plain, Variadic>(to_log as Plain));
        alsa_sys::snd_lib_error_set_handler(handler);
    }
}
