# PLACEHOLDER: replaced by the add-user flow (helper). Must not land.
from django.http import Http404
from django.views import View


class AddUserWizard(View):
    def dispatch(self, request, *args, **kwargs):
        raise Http404


def access_preview(request):
    raise Http404
