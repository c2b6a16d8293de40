"""URLs of the marketing app, mounted at the site root by crm/urls.py, in two namespaces: marketing (customer care,
/care/) and campaigns (marketing campaigns, /campaigns/), so the navigation tells them apart."""

from django.urls import include, path

from crm.imports.views import ImportUploadView
from marketing.views import blast, campaign, marketing_campaign, rfm, segment, unsubscribe

care_patterns = [
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

campaign_patterns = [
    path("", marketing_campaign.campaign_list, name="list"),
    path("new/", marketing_campaign.campaign_create, name="create"),
    path("<int:pk>/", marketing_campaign.campaign_detail, name="detail"),
    path("<int:pk>/edit/", marketing_campaign.campaign_edit, name="edit"),
    path("<int:pk>/members/add/", marketing_campaign.member_pick_view, name="member_pick"),
    path("members/import/", ImportUploadView.as_view(kind="campaign_member"), name="member_import"),
    path("settings/", blast.marketing_settings, name="settings"),
    path("<int:pk>/blasts/new/", blast.blast_create, name="blast_create"),
    path("blasts/audience/", blast.blast_audience_count, name="blast_audience_count"),
    path("blasts/<int:pk>/", blast.blast_detail, name="blast_detail"),
    path("blasts/<int:pk>/edit/", blast.blast_edit, name="blast_edit"),
    path("blasts/<int:pk>/test/", blast.blast_test, name="blast_test"),
    path("blasts/<int:pk>/schedule/", blast.blast_schedule_view, name="blast_schedule"),
    path("blasts/<int:pk>/cancel/", blast.blast_cancel_view, name="blast_cancel"),
]

urlpatterns = [
    path("", include((care_patterns, "marketing"))),
    path("campaigns/", include((campaign_patterns, "campaigns"))),
]
