"""The simulated back office's URLs: the published API (CONTROCC_API.md) and the simulation controls."""

from django.urls import include, path

from .backoffice import views

api = [
    path("service-types", views.service_types, name="service-types"),
    path("providers", views.providers, name="providers"),
    path("service-users", views.service_users, name="service-users"),
    path("care-package-lines", views.care_package_lines, name="care-package-lines"),
    path("actuals-submissions", views.actuals_submissions, name="actuals-submissions"),
    path("actuals-submissions/<str:ref>", views.actuals_submission, name="actuals-submission"),
    path("invoices", views.invoices, name="invoices"),
    path("expense-claims", views.expense_claims, name="expense-claims"),
    path("adjustments", views.adjustments, name="adjustments"),
    path("submission-events", views.submission_events, name="submission-events"),
    path("remittances", views.remittances, name="remittances"),
    path("payment-schedule", views.payment_schedule_view, name="payment-schedule"),
    path("health", views.health, name="health"),
]

sim = [
    path("payment-runs", views.sim_payment_runs, name="sim-payment-runs"),
    path("charging-runs", views.sim_charging_runs, name="sim-charging-runs"),
    path("charges", views.sim_charges, name="sim-charges"),
    path("decisions", views.sim_decisions, name="sim-decisions"),
    path("care-package-lines", views.sim_care_package_lines, name="sim-care-package-lines"),
    path("providers", views.sim_providers, name="sim-providers"),
    path("service-users", views.sim_service_users, name="sim-service-users"),
    path("faults", views.sim_faults, name="sim-faults"),
    path("ledger", views.sim_ledger, name="sim-ledger"),
    path("reset", views.sim_reset, name="sim-reset"),
]

urlpatterns = [path("api/v1/", include(api)), path("sim/", include(sim))]

handler400 = "contrOCC_sync.simulator.backoffice.views.bad_request"
handler404 = "contrOCC_sync.simulator.backoffice.views.not_found"
handler500 = "contrOCC_sync.simulator.backoffice.views.server_error"
