from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketingConfig(AppConfig):
    name = "marketing"
    verbose_name = _("Marketing")

    def ready(self) -> None:
        from marketing import audit_sentences

        audit_sentences.register()
        from crm.registry import (
            AuditAction,
            AuditKind,
            CustomerAudience,
            CustomerFilterContribution,
            CustomerPanel,
            NavEntry,
            NavGroup,
            OrderExtension,
            registry,
            roles_any,
        )
        from marketing import filters, widgets
        from marketing.imports.member import MemberKind
        from marketing.selectors.segment import segment_audience_choices, segment_audience_customers
        from marketing.services import coupon

        # The order form takes a care coupon's code; sales never imports marketing.
        registry.add_order_extension(
            OrderExtension(
                key="care_coupon",
                fields=coupon.coupon_fields,
                apply=coupon.apply_to_order,
                release=coupon.coupon_return,
            )
        )

        registry.add_nav_group(NavGroup(key="marketing", label=_("Marketing"), order=55))
        registry.add_nav(
            NavEntry(
                key="care",
                group="marketing",
                label=_("Customer care"),
                url_name="marketing:campaign_list",
                order=50,
                visible=roles_any("admin", "manager"),
                active_prefix="marketing:campaign,marketing:preview,marketing:audience,marketing:log",
            )
        )
        registry.add_import_kind(MemberKind)
        registry.add_nav(
            NavEntry(
                key="campaigns",
                label=_("Campaigns"),
                group="marketing",
                url_name="campaigns:list",
                order=48,
                visible=roles_any("admin", "manager", "rep"),
                active_prefix="campaigns:",
            )
        )
        registry.add_audit_kind(
            AuditKind("marketing_campaign", _("Marketing campaigns"), "marketing.marketingcampaign", "campaigns:detail")
        )
        registry.add_audit_kind(AuditKind("blast", _("Blasts"), "marketing.blast", "campaigns:blast_detail"))
        for action in (
            AuditAction(
                "marketing_campaign.create", _("%(actor)s created the campaign %(object)s"), _("Campaign created")
            ),
            AuditAction(
                "marketing_campaign.update", _("%(actor)s changed the campaign %(object)s"), _("Campaign changed")
            ),
            AuditAction(
                "campaign_member.import",
                _("%(actor)s imported campaign members from %(object)s: %(count)s"),
                _("Campaign members imported"),
                count="created",
            ),
            AuditAction(
                "marketing_settings.save",
                _("%(actor)s changed the blast rate"),
                _("Blast rate changed"),
            ),
            AuditAction("blast.save", _("%(actor)s saved the blast %(object)s"), _("Blast saved")),
            AuditAction("blast.schedule", _("%(actor)s scheduled the blast %(object)s"), _("Blast scheduled")),
            AuditAction("blast.cancel", _("%(actor)s cancelled the blast %(object)s"), _("Blast cancelled")),
            AuditAction("blast.test", _("%(actor)s sent themselves a test of the blast %(object)s"), _("Blast test")),
        ):
            registry.add_audit_action(action)
        registry.add_customer_panel(
            CustomerPanel(
                key="care",
                label=_("Greetings and coupons"),
                template="marketing/panels/care.html",
                order=70,
                context=widgets.care_panel,
            )
        )

        # Segments and RFM: the RFM filters reach the customer list (and its saved views) through the registry.
        registry.add_customer_filter(CustomerFilterContribution(key="rfm", filters=filters.rfm_filters))
        # Segments as the audience of lower apps' mailings (the service desk's NPS rounds), as of care and blasts here.
        registry.add_customer_audience(
            CustomerAudience(
                key="segment",
                label=_("Segment"),
                choices=segment_audience_choices,
                customers=segment_audience_customers,
            )
        )
        registry.add_nav(
            NavEntry(
                key="segments",
                label=_("Segments"),
                group="marketing",
                url_name="marketing:segment_list",
                order=48,
                visible=roles_any("admin", "manager", "rep"),
                active_prefix="marketing:segment,marketing:rfm",
            )
        )
        registry.add_customer_panel(
            CustomerPanel(
                key="rfm",
                label=_("RFM"),
                template="marketing/panels/rfm.html",
                order=65,
                visible=roles_any("admin", "manager", "rep"),
                context=widgets.rfm_panel,
            )
        )
        registry.add_audit_kind(AuditKind("segment", _("Segments"), "marketing.segment", "marketing:segment_detail"))
        registry.add_audit_kind(AuditKind("rfm", _("RFM scores"), "marketing.rfmsettings"))
        for action in (
            AuditAction("segment.create", _("%(actor)s created the segment %(object)s"), _("Segment created")),
            AuditAction("segment.update", _("%(actor)s changed the segment %(object)s"), _("Segment changed")),
            AuditAction("segment.delete", _("%(actor)s deleted the segment %(object)s"), _("Segment deleted")),
            AuditAction("rfm.recompute", _("%(actor)s asked to recompute the RFM scores"), _("RFM recomputed")),
            AuditAction("rfm.settings", _("%(actor)s changed the RFM window"), _("RFM window changed")),
        ):
            registry.add_audit_action(action)
