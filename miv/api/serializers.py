"""What the API's model serializers share."""

from __future__ import annotations

import copy

from django.utils import translation
from rest_framework import serializers


def copy_field(field: serializers.Field) -> serializers.Field:
    """A fresh, unbound copy of an unbound field, for one serializer instance.

    DRF's own copy (``Field.__deepcopy__``) builds the field again from its arguments. A
    field keeps all its state in its ``__dict__`` and ``bind()`` sets the instance's part of
    it (name, parent, label, source) on the copy, so a shallow copy is enough, with its own
    list of validators. Fields that hold other fields or serializers (a nested serializer,
    ``many=True``, ``ListField``'s ``child``, a many-related field's ``child_relation``) bind
    those to themselves when they are built: they are built again, as DRF does."""
    if isinstance(field, serializers.BaseSerializer) or any(
        hasattr(field, name) for name in ("child", "child_relation")
    ):
        return copy.deepcopy(field)
    clone = copy.copy(field)
    if "_validators" in field.__dict__:
        clone._validators = list(field._validators)
    return clone


class BuiltOnceModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer that builds its fields from the model once per class and language,
    and gives each instance a copy (:func:`copy_field`).

    DRF builds them again for every instance (every request, and every page of a list):
    reading the model's fields, their choices, validators and labels costs about 0.7 ms per
    incident serializer, DRF's deep copy still about 0.3 ms. DRF declined to cache them
    itself (encode/django-rest-framework#2504, #7093), because a subclass may build its
    fields from the request. So this caches nothing that depends on the instance: the
    fields come from the class's ``Meta`` and declared fields only, and what a request
    changes (a choice queryset scoped to the user) is set on the copy, in ``__init__``,
    after it, by assignment (``self.fields["location"].queryset = ...``), never by changing
    an object the copy shares with the cached field (its choices, its error messages).
    A subclass whose ``get_fields`` reads ``self.context`` or ``self.instance`` must not
    use this class. The language is part of the key because DRF decides whether a field
    needs a label by comparing translated texts.
    """

    _built_fields: dict = {}

    def get_fields(self):
        key = (type(self), translation.get_language())
        built = BuiltOnceModelSerializer._built_fields.get(key)
        if built is None:
            built = BuiltOnceModelSerializer._built_fields[key] = super().get_fields()
        return {name: copy_field(field) for name, field in built.items()}
