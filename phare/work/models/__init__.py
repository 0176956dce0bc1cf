from phare.work.models.approvals import ApprovalRequest, Gated, WorkSettings
from phare.work.models.flags import CaseFlag, FlagKind, SavedSearch
from phare.work.models.handovers import Handover, Service, ServiceRequest
from phare.work.models.notifications import Kind, Notification
from phare.work.models.tasks import Task

__all__ = [
           "ApprovalRequest",
           "CaseFlag",
           "FlagKind",
           "Gated",
           "Handover",
           "Kind",
           "Notification",
           "SavedSearch",
           "Service",
           "ServiceRequest",
           "Task",
           "WorkSettings",
]
