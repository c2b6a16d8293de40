from django.urls import path

from marketing.views import campaign, unsubscribe

app_name = "marketing"

urlpatterns = [
    path("care/", campaign.campaign_list, name="campaign_list"),
    path("care/new/", campaign.campaign_create, name="campaign_create"),
    path("care/preview/", campaign.care_preview, name="preview"),
    path("care/audience/", campaign.audience_count, name="audience_count"),
    path("care/log/", campaign.care_log, name="log"),
    path("care/<int:pk>/", campaign.campaign_detail, name="campaign_detail"),
    path("care/<int:pk>/edit/", campaign.campaign_edit, name="campaign_edit"),
    path("care/<int:pk>/test/", campaign.campaign_test, name="campaign_test"),
    path("care/unsubscribe/<str:token>/", unsubscribe.unsubscribe, name="unsubscribe"),
]
