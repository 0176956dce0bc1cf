from django.urls import path

from phare.cases import views
from phare.core.views import set_language
from phare.documents import views as documents

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_new, name="new"),
    path("lang/", set_language, name="set_language"),
    path("directory/add/", views.organisation_add, name="organisation_add"),
    path("access/requests/", views.access_requests, name="access_requests"),
    path("access/match/<str:token>/", views.withheld_match, name="withheld"),
    path("<str:number>/", views.case_page, name="case"),
    path("<str:number>/print.pdf", views.case_print, name="print"),
    path("<str:number>/close/", views.case_close, name="close"),
    path("<str:number>/delete/", views.case_delete, name="delete"),
    path("<str:number>/emergency/", views.case_emergency, name="emergency"),
    path("<str:number>/reopen/", views.case_reopen, name="reopen"),
    path("<str:number>/follow-up/", views.case_follow_up, name="follow_up"),
    path("<str:number>/reassign/", views.case_reassign, name="reassign"),
    path("<str:number>/programme/", views.case_programme, name="programme"),
    path("<str:number>/people/add/", views.participant_add, name="participant_add"),
    path("<str:number>/people/<str:uid>/person/", views.person_edit, name="person_edit"),
    path("<str:number>/people/<str:uid>/context/", views.participant_edit, name="participant_edit"),
    path("<str:number>/people/<str:uid>/merge/", views.person_merge, name="person_merge"),
    path("<str:number>/comments/add/", views.comment_add, name="comment_add"),
    path("<str:number>/assessments/add/", views.assessment_add, name="assessment_add"),
    path("<str:number>/assessments/<str:uid>/", views.assessment_view, name="assessment"),
    path("<str:number>/consents/<str:uid>/withdraw/", views.consent_withdraw, name="consent_withdraw"),
    path("<str:number>/documents/add/", documents.document_add, name="document_add"),
    path("<str:number>/documents/<str:uid>/download/", documents.document_download, name="document_download"),
    path("<str:number>/documents/<str:uid>/preview/", documents.document_preview, name="document_preview"),
    path("<str:number>/documents/<str:uid>/delete/", documents.document_delete, name="document_delete"),
    path("<str:number>/<str:kind>/add/", views.record_add, name="record_add"),
    path("<str:number>/<str:kind>/<str:uid>/edit/", views.record_edit, name="record_edit"),
]
