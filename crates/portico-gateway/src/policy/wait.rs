//! `<wait for="all|any">`: its `send-request` children go out side by side. Each call is
//! built in document order (its expressions see the request as the children before it left
//! it) and sent at once on a task of its own; the other children (`cache-lookup-value`,
//! `choose`, `forward-request`) run in place, in order, while the calls started before them
//! are in flight. With `all`, every call is awaited and the answers are stored in document
//! order; the first failure (in document order) fails the policy. With `any`, the first child
//! to finish ends the wait, as in APIM: a call that has answered wins (its answer is stored),
//! otherwise a child run in place, otherwise the first call to answer. The calls still in
//! flight are then cancelled, as APIM terminates the other children, and so are all of them
//! when the client goes away mid-wait.

use super::execute::{Flow, Run};
use super::failure::Failure;
use super::outcall::{Answer, CallError};
use super::plan::{Action, Site, Step};
use super::send::Reply;
use futures_util::future;
use portico_policy::Section;
use std::sync::Arc;
use tokio::task::{JoinError, JoinHandle};

type Failed = (Failure, Arc<Site>);

/// The calls a wait started, each with where its answer goes; dropping this cancels the
/// ones still running.
#[derive(Default)]
struct Calls {
    replies: Vec<(Reply, Arc<Site>)>,
    tasks: Vec<JoinHandle<Result<Answer, CallError>>>,
}

impl Drop for Calls {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

impl Calls {
    /// A call that has answered already, if any.
    fn answered(&self) -> Option<usize> {
        self.tasks.iter().position(JoinHandle::is_finished)
    }
}

impl Run<'_, '_> {
    pub(super) async fn wait(
        &mut self,
        any: bool,
        steps: &[Step],
        section: Section,
    ) -> Result<Flow, Failed> {
        let mut calls = Calls::default();
        for step in steps {
            let Action::SendRequest(s, certificate) = &step.action else {
                let one = std::slice::from_ref(step);
                if Box::pin(self.section(section, one)).await? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
                if any {
                    if let Some(i) = calls.answered() {
                        let answer = (&mut calls.tasks[i]).await;
                        self.keep(&mut calls, i, answer)?;
                    }
                    return Ok(Flow::Next);
                }
                continue;
            };
            if let Some(i) = calls.answered().filter(|_| any) {
                let answer = (&mut calls.tasks[i]).await;
                self.keep(&mut calls, i, answer)?;
                return Ok(Flow::Next);
            }
            let failed = |f: Failure| (f, step.site.clone());
            if step.reads_body {
                self.buffer_bodies(section).await.map_err(failed)?;
            }
            let (reply, call) = self
                .start_send(s, certificate, section)
                .await
                .map_err(failed)?;
            calls.replies.push((reply, step.site.clone()));
            calls
                .tasks
                .push(tokio::spawn(async move { call?.send().await }));
        }
        if calls.tasks.is_empty() {
            return Ok(Flow::Next);
        }
        if any {
            let (answer, first, _) = future::select_all(calls.tasks.iter_mut()).await;
            self.keep(&mut calls, first, answer)?;
        } else {
            let answers = future::join_all(calls.tasks.iter_mut()).await;
            for ((reply, site), answer) in calls.replies.drain(..).zip(answers) {
                self.finish_send(reply, joined(answer))
                    .map_err(|f| (f, site))?;
            }
        }
        Ok(Flow::Next)
    }

    /// Stores the answer of call `i`, the one that ended the wait.
    fn keep(&mut self, calls: &mut Calls, i: usize, answer: Joined) -> Result<(), Failed> {
        let (reply, site) = calls.replies.swap_remove(i);
        self.finish_send(reply, joined(answer))
            .map_err(|f| (f, site))
    }
}

/// What a call task ends with.
type Joined = Result<Result<Answer, CallError>, JoinError>;

/// A call task's answer; a panic inside it is this request's panic.
fn joined(r: Joined) -> Result<Answer, CallError> {
    match r {
        Ok(answer) => answer,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only the runtime shutting down cancels a call the wait still awaits.
        Err(_) => Err(CallError::Cancelled),
    }
}
