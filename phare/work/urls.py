from django.urls import path

from phare.work.views import approvals, flags, handovers, home, notifications, tasks

app_name = "work"

urlpatterns = [
    path("due/", home.due_list, name="due"),
    path("tasks/", tasks.task_list, name="tasks"),
    path("tasks/<str:uid>/", tasks.task_edit, name="task_edit"),
    path("tasks/<str:uid>/done/", tasks.task_done, name="task_done"),
    path("cases/<str:number>/tasks/new/", tasks.task_new, name="task_new"),
    path("cases/<str:number>/hand-over/", handovers.handover_new, name="handover_new"),
    path("cases/<str:number>/ask/<str:action>/", approvals.approval_ask, name="approval_ask"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read/", notifications.notifications_read, name="notifications_read"),
    path("approvals/", approvals.approval_list, name="approvals"),
    path("approvals/<str:uid>/", approvals.approval_page, name="approval"),
    path("hand-overs/", handovers.handover_list, name="handovers"),
    path("hand-overs/<str:uid>/", handovers.handover_page, name="handover"),
    path("settings/", approvals.work_settings, name="settings"),
    path("cases/<str:number>/flags/", flags.flag_add, name="flag_add"),
    path("flags/<str:uid>/clear/", flags.flag_clear, name="flag_clear"),
    path("searches/", flags.search_save, name="search_save"),
    path("searches/<int:pk>/delete/", flags.search_delete, name="search_delete"),
]
