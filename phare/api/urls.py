from django.urls import path

from phare.api import views
from phare.api.v1 import api

urlpatterns = [
    path("v1/docs", views.docs, name="api_docs"),
    path("tokens/", views.tokens_page, name="api_tokens"),
    path("v1/", api.urls),
]
