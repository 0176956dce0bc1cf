from django.urls import path

from phare.referrals import views

app_name = "referrals"

urlpatterns = [
    path("", views.index, name="index"),
    path("directory/", views.directory, name="directory"),
    path("refer/<str:number>/", views.refer, name="refer"),
    path("<uuid:uid>/", views.detail, name="detail"),
]
