from django.apps import AppConfig


class ExhibitsConfig(AppConfig):
    name = "exhibits"
    verbose_name = "展品与讲解 Exhibits & narration"
