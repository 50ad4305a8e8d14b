"""One platform's workflows by kind of publish: the runner keeps one workflow per platform,
and this one hands each publish to the workflow of its kind (a carousel, a video)."""

from __future__ import annotations

from collections.abc import Mapping

from server.domain.models import Publish, PublishKind
from server.services.workflow.checkpoint import PublishTarget, Workflow


class WorkflowsByKind:
    def __init__(self, workflows: Mapping[PublishKind, Workflow], default: PublishKind = PublishKind.CAROUSEL) -> None:
        self._workflows = dict(workflows)
        # What the runner says when a publish of this platform starts (the default kind's words).
        self.started_message = self._workflows[default].started_message

    async def run(self, publish: Publish, target: PublishTarget) -> Publish:
        return await self._workflows[publish.kind].run(publish, target)
