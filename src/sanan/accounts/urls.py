from django.urls import path

from sanan.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.login_code, name="login_code"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("two-step/", views.two_step, name="two_step"),
    path("two-step/off/", views.two_step_disable, name="two_step_off"),
    path("two-step/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("password-reset/", views.reset_request, name="reset_request"),
    path("password-reset/sent/", views.reset_sent, name="reset_sent"),
    path("reset/<uidb64>/<token>/", views.ResetConfirmView.as_view(), name="reset_confirm"),
    path("reset/done/", views.reset_done, name="reset_done"),
    path("users/<int:pk>/reset-link/", views.reset_link, name="reset_link"),
]
