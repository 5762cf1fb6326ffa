//! `<wait for="all|any">`: its `send-request` children go out side by side. Each call is
//! built in document order (its expressions see the request as the children before it left
//! it) and sent at once on a task of its own; the other children (`cache-lookup-value`, `choose`,
//! `forward-request`) run in place, in order, while the calls started before them are in
//! flight. With `all`, every call is awaited and the answers are stored in document order;
//! the first failure (in document order) fails the policy. With `any`, the first child to
//! finish ends the wait: a child that ran in place finished before any call could, otherwise
//! the first answer is stored. Calls still in flight then finish in the background and their
//! answers are dropped, as APIM leaves them unset.

use super::execute::{Flow, Run};
use super::failure::Failure;
use super::outcall::{Answer, CallError};
use super::plan::{Action, Site, Step};
use super::send::Reply;
use futures_util::future;
use portico_policy::Section;
use std::sync::Arc;

type Failed = (Failure, Arc<Site>);

/// A call in flight and where its answer goes.
struct Sent {
    reply: Reply,
    site: Arc<Site>,
}

impl Run<'_, '_> {
    pub(super) async fn wait(
        &mut self,
        any: bool,
        steps: &[Step],
        section: Section,
    ) -> Result<Flow, Failed> {
        let mut sent = Vec::new();
        let mut calls = Vec::new();
        let mut finished_in_place = false;
        for step in steps {
            let Action::SendRequest(s, certificate) = &step.action else {
                let one = std::slice::from_ref(step);
                if Box::pin(self.section(section, one)).await? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
                finished_in_place = true;
                continue;
            };
            let failed = |f: Failure| (f, step.site.clone());
            if step.reads_body {
                self.buffer_bodies(section).await.map_err(failed)?;
            }
            let (reply, call) = self
                .start_send(s, certificate, section)
                .await
                .map_err(failed)?;
            calls.push(tokio::spawn(async move {
                match call {
                    Ok(prepared) => prepared.send().await,
                    Err(e) => Err(e),
                }
            }));
            sent.push(Sent {
                reply,
                site: step.site.clone(),
            });
        }
        if calls.is_empty() {
            return Ok(Flow::Next);
        }
        if any {
            // Calls no longer needed run to their end on their own tasks (dropping a
            // JoinHandle detaches it), so their backends see whole requests.
            if finished_in_place {
                return Ok(Flow::Next);
            }
            let (answer, first, _rest) = future::select_all(calls).await;
            let Sent { reply, site } = sent.swap_remove(first);
            self.finish_send(reply, joined(answer))
                .map_err(|f| (f, site))?;
        } else {
            let answers = future::join_all(calls).await;
            for (Sent { reply, site }, answer) in sent.into_iter().zip(answers) {
                self.finish_send(reply, joined(answer))
                    .map_err(|f| (f, site))?;
            }
        }
        Ok(Flow::Next)
    }
}

/// A call task's answer; a panic inside it is this request's panic.
fn joined(
    r: Result<Result<Answer, CallError>, tokio::task::JoinError>,
) -> Result<Answer, CallError> {
    r.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}
