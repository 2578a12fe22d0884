//! The log's writer: a request appends its line to a buffer in memory, and
//! a thread of its own writes what gathered every few milliseconds (sooner
//! when much has), so a request costs neither a `write` to stderr nor the
//! wake-up of a writer thread. A writer woken for each line, as a channel
//! to a writer thread does, cost one context switch per request: about 7%
//! of a stop's CPU in the service (measured with logging on and off).
//!
//! No line is dropped: should lines come faster than they can be written,
//! requests wait once [`HARD_LIMIT`] bytes are pending. Lines reach the
//! output at most [`INTERVAL`] late; the [`FlushGuard`] writes what is left
//! when dropped.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How late a line may reach the output.
pub const INTERVAL: Duration = Duration::from_millis(20);
/// Pending bytes that wake the writer before its time.
const SOFT_LIMIT: usize = 256 * 1024;
/// Pending bytes beyond which a request waits for the writer.
pub const HARD_LIMIT: usize = 8 * 1024 * 1024;

#[derive(Default)]
struct State {
    pending: Vec<u8>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// The writer has something to do before its time, or must stop.
    urgent: Condvar,
    /// The writer took what was pending.
    taken: Condvar,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while a line was appended leaves at worst a partial line.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The [`MakeWriter`] of the log (cheap to clone).
#[derive(Clone)]
pub struct BatchedWriter(Arc<Shared>);

/// Writes what is pending and stops the writer's thread when dropped.
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A writer over `out`, and the guard that flushes it.
///
/// # Errors
/// When the writer's thread cannot be started.
pub fn batched<W: Write + Send + 'static>(out: W) -> io::Result<(BatchedWriter, FlushGuard)> {
    let shared = Arc::new(Shared::default());
    let thread = std::thread::Builder::new()
        .name("access-reviews-log".into())
        .spawn({
            let shared = shared.clone();
            move || write_until_closed(&shared, out)
        })?;
    Ok((
        BatchedWriter(shared.clone()),
        FlushGuard {
            shared,
            thread: Some(thread),
        },
    ))
}

fn write_until_closed<W: Write>(shared: &Shared, mut out: W) {
    let mut batch = Vec::new();
    loop {
        let closed = {
            let mut state = shared.state();
            if !state.closed && state.pending.len() < SOFT_LIMIT {
                state = shared
                    .urgent
                    .wait_timeout(state, INTERVAL)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            // The buffers swap, so both keep their capacity.
            std::mem::swap(&mut state.pending, &mut batch);
            state.closed
        };
        shared.taken.notify_all();
        if !batch.is_empty() {
            // Nowhere to report a failed write of the log itself.
            let _ = out.write_all(&batch).and_then(|()| out.flush());
            batch.clear();
        }
        if closed && shared.state().pending.is_empty() {
            return;
        }
    }
}

impl<'a> MakeWriter<'a> for BatchedWriter {
    type Writer = &'a Self;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

impl Write for &BatchedWriter {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let shared = &self.0;
        let mut state = shared.state();
        while state.pending.len() >= HARD_LIMIT && !state.closed {
            state = shared
                .taken
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.pending.extend_from_slice(line);
        if state.pending.len() >= SOFT_LIMIT {
            shared.urgent.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.state().closed = true;
        self.shared.urgent.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// An output that hands each write to a channel.
    struct Sink(mpsc::Sender<Vec<u8>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let _ = self.0.send(bytes.to_vec());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn line(thread: usize, n: usize) -> String {
        format!("{{\"thread\":{thread},\"n\":{n}}}\n")
    }

    #[test]
    fn every_line_of_every_thread_is_written_whole_and_in_its_order() {
        let (tx, rx) = mpsc::channel();
        let (writer, guard) = batched(Sink(tx)).unwrap();
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let writer = writer.clone();
                scope.spawn(move || {
                    for n in 0..5_000 {
                        (&writer).write_all(line(thread, n).as_bytes()).unwrap();
                    }
                });
            }
        });
        drop(guard);

        let written = String::from_utf8(rx.iter().flatten().collect()).unwrap();
        let mut next = [0; 4];
        for l in written.lines() {
            let (thread, n) = l
                .strip_prefix("{\"thread\":")
                .and_then(|l| l.strip_suffix('}'))
                .and_then(|l| l.split_once(",\"n\":"))
                .unwrap_or_else(|| panic!("a broken line: {l}"));
            let (thread, n): (usize, usize) = (thread.parse().unwrap(), n.parse().unwrap());
            assert_eq!(n, next[thread], "thread {thread}'s lines in order");
            next[thread] += 1;
        }
        assert_eq!(next, [5_000; 4], "no line lost");
    }

    #[test]
    fn a_line_is_written_without_waiting_for_more_or_for_the_end() {
        let (tx, rx) = mpsc::channel();
        let (writer, _guard) = batched(Sink(tx)).unwrap();
        (&writer).write_all(b"one line\n").unwrap();

        let written = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(written, b"one line\n");
    }
}
