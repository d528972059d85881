# Written by hand (not makemigrations) so that it holds only the render-pipeline changes while
# the speech-API models are added concurrently in their own migration.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('exhibits', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='renderjob',
            name='sent_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name='renderjob',
            constraint=models.UniqueConstraint(condition=models.Q(('state__in', ['queued', 'rendering'])), fields=('narration', 'version'), name='one_live_job_per_version'),
        ),
    ]
