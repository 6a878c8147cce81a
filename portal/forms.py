"""The GOV.UK form renderer: every Django form renders as GOV.UK Frontend markup.

The error summary sits at the top of the page (components/error_summary.html); each field shows its own
message; the layout prefixes the title with "Error: "; bound values are re-rendered, so nothing the
user typed is lost.
"""

from __future__ import annotations

from django.forms.renderers import TemplatesSetting


class GovukFormRenderer(TemplatesSetting):
    form_template_name = "components/forms/form.html"
    field_template_name = "components/forms/field.html"
