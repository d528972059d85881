"""What a museum shows: galleries and the exhibits in them."""
from __future__ import annotations

from django.db import models
from django.db.models import Max
from django.urls import reverse


class Gallery(models.Model):
    name = models.CharField("展厅 name", max_length=100)
    slug = models.SlugField("网址名 slug", max_length=60, unique=True)
    order = models.PositiveIntegerField("排序 order", default=0)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = "展厅 gallery"
        verbose_name_plural = "展厅 galleries"

    def __str__(self) -> str:
        return self.name


class Exhibit(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "草稿 draft"
        PUBLISHED = "published", "已发布 published"

    title = models.CharField("标题 title", max_length=200)
    gallery = models.ForeignKey(Gallery, on_delete=models.PROTECT, related_name="exhibits", verbose_name="展厅 gallery")
    # What a visitor types on the keypad and what the QR code encodes: never reused, never changed.
    code = models.PositiveIntegerField("编号 code", unique=True, editable=False)
    slug = models.SlugField("网址名 slug", max_length=80, blank=True)
    description = models.TextField("简介 description", blank=True)
    image = models.ImageField("图片 image", upload_to="images/", blank=True)
    status = models.CharField("状态 status", max_length=10, choices=Status.choices, default=Status.DRAFT)
    order = models.PositiveIntegerField("排序 order", default=0)
    created_at = models.DateTimeField("创建于 created", auto_now_add=True)
    updated_at = models.DateTimeField("更新于 updated", auto_now=True)

    class Meta:
        ordering = ["gallery__order", "order", "code"]
        verbose_name = "展品 exhibit"
        verbose_name_plural = "展品 exhibits"

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def save(self, *args, **kwargs):
        if self.code is None:
            self.code = next_exhibit_code()
        super().save(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def get_absolute_url(self) -> str:
        return reverse("exhibit", args=[self.code])


def next_exhibit_code() -> int:
    """Codes start at 101 (three digits read well on a label) and only ever grow."""
    highest = Exhibit.objects.aggregate(m=Max("code"))["m"]
    return max(highest or 100, 100) + 1
