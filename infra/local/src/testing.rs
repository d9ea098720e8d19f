//! What every emulator test needs, in one place for the infra tests and the
//! end-to-end tests alike: the emulator, unique names, waits that fail when
//! nothing moves (never after a fixed time), and the machine-wide limit on
//! how many local stacks run at once.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use crate::progress::{Progress, Stall};
use crate::{root::workspace_root, Emulator};

/// A name no other test uses, valid for tables, queues and stacks.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// The emulator `make test` started (`AWS_ENDPOINT_URL`), or a moto of the
/// caller's own (stopped when dropped).
pub async fn emulator() -> Emulator {
    Emulator::from_env_or_start(&workspace_root())
        .await
        .expect("an emulator (set AWS_ENDPOINT_URL or have .tools/venv)")
}

/// A benchmark's size from the environment (`COST_LEADS=500`), else `default`.
pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How long a wait may see nothing move before it fails:
/// `LEADFLOW_TEST_STALL_SECS`, else 300 s. The longest quiet a working
/// pipeline has is a failed delivery waiting out its queue's visibility
/// timeout (180 s, fulfillment's 240 s in template.yaml) or a send claim its
/// lease (200 s), while
/// its retries fail: a wait gives that and a slow invocation after it.
pub fn stall_window() -> Duration {
    Duration::from_secs(env_count("LEADFLOW_TEST_STALL_SECS", 300) as u64)
}

/// Polls `check` until it returns `Some`. It fails only when the stack
/// behind `progress` has not moved for [`stall_window`], naming what it
/// waited for and what moved last.
pub async fn eventually<T, F, Fut>(progress: &Progress, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    wait(stall_window(), progress, what, || {
        let pending = check();
        async move { pending.await.ok_or(None) }
    })
    .await
}

/// [`eventually`], for a check that says what it saw when it is not done
/// yet (`Err`): a change in that is movement too, and the last of it is in
/// the failure.
pub async fn watch<T, E, F, Fut>(progress: &Progress, what: &str, check: F) -> T
where
    E: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    watch_within(stall_window(), progress, what, check).await
}

/// [`watch`] with its own stall window.
pub async fn watch_within<T, E, F, Fut>(
    window: Duration,
    progress: &Progress,
    what: &str,
    mut check: F,
) -> T
where
    E: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    wait(window, progress, what, || {
        let pending = check();
        async move { pending.await.map_err(|seen| Some(format!("{seen:?}"))) }
    })
    .await
}

async fn wait<T, F, Fut>(window: Duration, progress: &Progress, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Option<String>>>,
{
    let mut stall = Stall::new(window, progress);
    loop {
        let seen = match check().await {
            Ok(v) => return v,
            Err(seen) => seen,
        };
        if stall.stalled(progress, seen) {
            panic!(
                "nothing moved for {} s while waiting for {what}: {}{}",
                stall.window().as_secs(),
                progress.seen(),
                stall
                    .observed()
                    .map(|seen| format!("; the check saw last: {seen}"))
                    .unwrap_or_default(),
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What a task that panicked said (a failed wait's message), for tests
/// that check a wait fails as it should.
pub fn panic_message(failed: tokio::task::JoinError) -> String {
    failed
        .try_into_panic()
        .ok()
        .and_then(|p| p.downcast::<String>().ok())
        .map(|m| *m)
        .unwrap_or_default()
}

/// How many local stacks may run at once on this machine, across every test
/// process: `LEADFLOW_TEST_STACKS`, else one per core. Each stack is eight
/// function processes beside the one emulator they share, mostly waiting on
/// it (visibility timeouts, leases): two on two cores keep the cores busier
/// than one at a time did (e2e 84 s → 61 s, rep 51 s → 36 s in `make test`
/// from a clean clone), and more than the cores starve each other.
pub fn stack_slots() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    env_count("LEADFLOW_TEST_STACKS", cores).max(1)
}

/// One of the machine's [`stack_slots`], held until dropped: an advisory
/// lock on a file in the system's temporary folder, so the limit holds for
/// every test binary and checkout at once, and a process that dies lets go.
#[derive(Debug)]
pub struct StackSlot {
    _file: std::fs::File,
    pub index: usize,
}

fn slot_dir() -> PathBuf {
    std::env::temp_dir().join("leadflow-test-stacks")
}

/// Waits for a free [`StackSlot`]. Waiting has no time limit: whoever holds
/// the slots is a test that ends on its own (or fails by its own waits).
pub async fn stack_slot() -> std::io::Result<StackSlot> {
    stack_slot_in(&slot_dir(), stack_slots()).await
}

async fn stack_slot_in(dir: &std::path::Path, slots: usize) -> std::io::Result<StackSlot> {
    std::fs::create_dir_all(dir)?;
    loop {
        for index in 0..slots {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(dir.join(format!("slot-{index}.lock")))?;
            match file.try_lock() {
                Ok(()) => return Ok(StackSlot { _file: file, index }),
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wait_on_a_stack_that_never_moves_fails_naming_what_it_waited_for() {
        let progress = Progress::default();
        progress.moved("RouterFunction took 1 message from RoutingQueue");
        let waited = tokio::spawn(async move {
            let window = Duration::from_secs(1);
            watch_within(window, &progress, "the lead to be routed", || async {
                Err::<(), _>("no Routed entry yet")
            })
            .await
        })
        .await
        .unwrap_err();
        let message = panic_message(waited);
        assert!(message.contains("nothing moved for 1 s"), "{message}");
        assert!(
            message.contains("waiting for the lead to be routed"),
            "{message}"
        );
        assert!(
            message.contains("took 1 message from RoutingQueue"),
            "{message}"
        );
        assert!(message.contains("no Routed entry yet"), "{message}");
    }

    #[tokio::test]
    async fn stack_slots_are_taken_one_each_and_given_back() {
        let dir = std::env::temp_dir().join(unique("slots"));
        let first = stack_slot_in(&dir, 2).await.unwrap();
        let second = stack_slot_in(&dir, 2).await.unwrap();
        assert_eq!((first.index, second.index), (0, 1));
        // A third waits until one is given back, and then takes that one.
        let third = tokio::spawn({
            let dir = dir.clone();
            async move { stack_slot_in(&dir, 2).await.unwrap().index }
        });
        tokio::task::yield_now().await;
        assert!(!third.is_finished());
        drop(second);
        assert_eq!(third.await.unwrap(), 1);
        drop(first);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
