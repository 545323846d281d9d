"""The membership workspace: confirming the purchase of the partner action pack (MAPS)."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.urls import reverse


class MapsPurchaseForm(forms.Form):
    """An explicit confirmation, naming the membership year the purchase is for."""

    confirm = forms.BooleanField(
        required=True,
        error_messages={"required": "Tick the box to confirm the purchase."},
    )
    # The year the person saw and confirmed: a page opened on 30 June and sent on 1 July would
    # otherwise buy a year nobody confirmed. Without it (a client that sends only the
    # confirmation), the confirmation is for the current year.
    membership_year = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, year: int, **kwargs: Any) -> None:
        super().__init__(*args, initial={"membership_year": year}, **kwargs)
        self.year = year
        self.fields["confirm"].label = f"I confirm the purchase of MAPS for membership year {year}"
        self.helper = FormHelper()
        self.helper.form_action = reverse("purchase_maps")
        self.helper.add_input(Submit("purchase_maps", "Purchase MAPS"))

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        if cleaned_data.get("membership_year") not in (None, self.year):
            # Shown again, the form asks about the year that has begun, with the box unticked.
            data = self.data.copy()
            data["membership_year"] = str(self.year)
            data.pop("confirm", None)
            self.data = data
            # A non-field error: an error on a hidden field would not show.
            raise forms.ValidationError(
                "A new membership year has begun: confirm the purchase for membership year "
                "%(year)s.",
                code="membership_year_changed",
                params={"year": self.year},
            )
        return cleaned_data
