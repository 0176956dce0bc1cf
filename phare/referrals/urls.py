from django.urls import path

from phare.referrals import views

app_name = "referrals"

urlpatterns = [
    path("", views.index, name="index"),
    path("directory/", views.directory, name="directory"),
    path("refer/<str:number>/", views.refer, name="refer"),
    path("partners/", views.partners, name="partners"),
    path("partners/card.json", views.card_download, name="card"),
    path("package/<str:number>/", views.package_make, name="package"),
    path("open/", views.package_open, name="open"),
    path("<uuid:uid>/", views.detail, name="detail"),
]
