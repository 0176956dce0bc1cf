from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "phare.documents"
    default_auto_field = "django.db.models.BigAutoField"
