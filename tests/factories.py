"""factory_boy factories that keep every related object in one tenant."""

import factory
from faker import Faker

from crm.models import Notification, Role, Team, Tenant, User

fake = Faker("zh_CN")


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"测试公司{n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    tenant = factory.LazyAttribute(lambda o: o.parent.tenant if o.parent else TenantFactory())
    name = factory.Sequence(lambda n: f"团队{n}")
    parent = None

    @factory.post_generation
    def set_path(obj, create, extracted, **kwargs):
        obj.path = f"{obj.parent.path if obj.parent else '/'}{obj.pk}/"
        if create:
            obj.save(update_fields=["path"])


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    tenant = factory.LazyAttribute(lambda o: o.team.tenant if o.team else TenantFactory())
    team = None
    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.LazyFunction(fake.name)
    roles = factory.LazyFunction(lambda: [Role.REP])
    password = factory.PostGenerationMethodCall("set_password", "pw-123456")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    tenant = factory.LazyAttribute(lambda o: o.recipient.tenant)
    title = factory.Sequence(lambda n: f"通知 {n}")
