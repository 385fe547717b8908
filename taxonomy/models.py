"""The incident taxonomy of Bijlage 2 of the MIV report, as data.

Three levels: category -> subcategory -> incident type. Brand/explosie and Milieu have
their types directly under the category (no subcategory). Every node has a stable
``code`` that is never changed or reused; a type that is no longer wanted is retired
(``active = False``), never deleted, so old registrations keep their meaning.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class TaxonomyVersion(models.Model):
    """A published version of the taxonomy (e.g. ``MIV-2023``).

    Each incident records the version that was current when it was registered, so a
    figure can always say which set of types it counts.
    """

    code = models.CharField(_("code"), max_length=20, unique=True)
    name_nl = models.CharField(_("naam (NL)"), max_length=200)
    name_en = models.CharField(_("naam (EN)"), max_length=200)
    published_on = models.DateField(_("gepubliceerd op"))
    source = models.TextField(_("bron"), blank=True)

    class Meta:
        ordering = ["published_on", "code"]
        verbose_name = _("versie van de indeling")
        verbose_name_plural = _("versies van de indeling")

    def __str__(self) -> str:
        return self.code

    @classmethod
    def current(cls) -> "TaxonomyVersion":
        """The latest published version: the one new registrations are made under."""
        return cls.objects.order_by("-published_on", "-code").first()

    @classmethod
    def current_pk_subquery(cls) -> models.Subquery:
        """:meth:`current` as a subquery, to be read along with another query."""
        return models.Subquery(cls.objects.order_by("-published_on", "-code").values("pk")[:1])


class TaxonomyNode(models.Model):
    """Fields shared by the three levels of the taxonomy."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name_nl = models.CharField(_("naam (NL)"), max_length=200)
    name_en = models.CharField(_("naam (EN)"), max_length=200)
    sort_order = models.PositiveIntegerField(_("volgorde"), default=0)
    active = models.BooleanField(_("actief"), default=True)

    class Meta:
        abstract = True
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the active interface language (Dutch unless English is chosen)."""
        return self.name_en if (get_language() or "nl").startswith("en") else self.name_nl

    def clean(self) -> None:
        # Codes are identifiers that exports, imports and figures refer to: never renumber.
        if self.pk:
            old_code = type(self).objects.filter(pk=self.pk).values_list("code", flat=True).first()
            if old_code is not None and old_code != self.code:
                raise ValidationError(
                    {"code": _("De code van een bestaand onderdeel mag niet veranderen.")}
                )


class Category(TaxonomyNode):
    """A main category (hoofdcategorie), e.g. *Misdraging* or *Milieu*."""

    class Meta(TaxonomyNode.Meta):
        verbose_name = _("categorie")
        verbose_name_plural = _("categorieën")


class Subcategory(TaxonomyNode):
    """A subcategory within a category, e.g. *Verbale agressie* under *Misdraging*."""

    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        related_name="subcategories",
        verbose_name=_("categorie"),
    )

    class Meta(TaxonomyNode.Meta):
        verbose_name = _("subcategorie")
        verbose_name_plural = _("subcategorieën")


class IncidentTypeQuerySet(models.QuerySet):
    def with_current_version(self):
        """Each type with ``current_version_id``, the version a registration made now is made
        under, read in the same query (a registration needs both)."""
        return self.annotate(current_version_id=TaxonomyVersion.current_pk_subquery())


class IncidentType(TaxonomyNode):
    """An incident type (type incident), the level at which incidents are registered.

    ``category`` is always set (it makes grouping cheap); ``subcategory`` is empty for the
    categories that list their types directly (Brand/explosie, Milieu).
    """

    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="types", verbose_name=_("categorie")
    )
    subcategory = models.ForeignKey(
        Subcategory,
        on_delete=models.PROTECT,
        related_name="types",
        null=True,
        blank=True,
        verbose_name=_("subcategorie"),
    )
    introduced_in = models.ForeignKey(
        TaxonomyVersion,
        on_delete=models.PROTECT,
        related_name="introduced_types",
        verbose_name=_("ingevoerd in"),
    )
    retired_in = models.ForeignKey(
        TaxonomyVersion,
        on_delete=models.PROTECT,
        related_name="retired_types",
        null=True,
        blank=True,
        verbose_name=_("vervallen in"),
    )

    objects = IncidentTypeQuerySet.as_manager()

    class Meta(TaxonomyNode.Meta):
        verbose_name = _("type incident")
        verbose_name_plural = _("typen incident")

    def clean(self) -> None:
        super().clean()
        if self.subcategory_id and self.subcategory.category_id != self.category_id:
            raise ValidationError(
                {"subcategory": _("De subcategorie hoort niet bij de gekozen categorie.")}
            )
