from django.urls import path

from phare.sharing import views

app_name = "sharing"
urlpatterns = [
    path("", views.index, name="index"),
    path("release/<str:kind>/", views.release, name="release"),
    path("budget/", views.budget, name="budget"),
    path("releases/<int:pk>.csv", views.download, name="download"),
]
