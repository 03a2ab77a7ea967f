"""The upload form: what the file holds, how it maps, and the file."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from .profiles import Profile, ProfileError, load_profile, parse_profile_text, shipped_profiles
from .schema import KIND_LABELS, Kind

MAX_PROFILE_BYTES = 256 * 1024


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label="The file holds", choices=[(k.value, KIND_LABELS[k]) for k in Kind])
    profile = forms.ChoiceField(label="Mapping profile", initial="ardesk")
    profile_file = forms.FileField(
        label="…or your own profile", required=False, help_text="YAML or JSON; overrides the choice above"
    )
    file = forms.FileField(label="File", help_text="CSV (any delimiter, UTF-8 or Windows-1252) or XLSX")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = []
        for name in shipped_profiles():
            description = load_profile(name).description
            choices.append((name, f"{name}: {description}" if description else name))
        self.fields["profile"].choices = choices  # type: ignore[attr-defined]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.ARDESK_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(f"The file is {upload.size:,} bytes; the limit is {limit:,}.")
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        custom = data.get("profile_file")
        try:
            if custom:
                if custom.size > MAX_PROFILE_BYTES:
                    raise ProfileError("the profile file is too large")
                text = custom.read().decode("utf-8")
                data["mapping"] = parse_profile_text(
                    text, source=custom.name, default_name=custom.name.rsplit(".", 1)[0]
                )
            elif data.get("profile"):
                data["mapping"] = load_profile(data["profile"])
        except UnicodeDecodeError:
            self.add_error("profile_file", "The profile file is not UTF-8 text.")
        except ProfileError as exc:
            self.add_error("profile_file" if custom else "profile", exc.message)
        return data

    @property
    def mapping(self) -> Profile:
        return self.cleaned_data["mapping"]
