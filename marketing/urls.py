from django.urls import path

from marketing.views import campaign, rfm, segment, unsubscribe

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
    path("segments/", segment.segment_list, name="segment_list"),
    path("segments/new/", segment.segment_create, name="segment_create"),
    path("segments/count/", segment.segment_count, name="segment_count"),
    path("segments/<int:pk>/", segment.segment_detail, name="segment_detail"),
    path("segments/<int:pk>/edit/", segment.segment_edit, name="segment_edit"),
    path("segments/<int:pk>/delete/", segment.segment_delete_view, name="segment_delete"),
    path("segments/rfm/", rfm.rfm_page, name="rfm"),
    path("segments/rfm/recompute/", rfm.rfm_recompute, name="rfm_recompute"),
    path("segments/rfm/window/", rfm.rfm_window, name="rfm_window"),
]
